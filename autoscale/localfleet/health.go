package localfleet

import (
	"context"
	"syscall"

	"github.com/qscale/qscale/worker/workerstatus"
)

// Readiness, status reads and drains: every request to a worker goes
// through workerstatus.Client (f.status), bounded by StatusTimeout.

// probe reports whether a starting worker is ready: its status file (a
// workerstatus document) names its address and GET /healthz there answers
// 200.
func (f *Fleet) probe(file string) (string, bool) {
	doc, err := workerstatus.ReadFile(file)
	if err != nil || doc.StatusAddr == "" || doc.State == workerstatus.Stopped {
		return "", false
	}
	if err := f.status.Healthy(f.baseCtx, doc.StatusAddr); err != nil {
		return "", false
	}
	return doc.StatusAddr, true
}

// drain asks a ready worker to stop receiving and finish what it holds; if
// its endpoint does not answer, SIGTERM does the same within the worker's
// --grace.
func (f *Fleet) drain(id string, pid int, addr string, signal func(syscall.Signal)) {
	doc, err := f.status.Drain(f.baseCtx, addr)
	if err != nil {
		f.log.Warn("drain request failed; sending SIGTERM", "id", id, "pid", pid, "err", err)
		signal(syscall.SIGTERM)
		return
	}
	if doc.InFlight > 0 {
		// It took messages after the status read that chose it: it
		// finishes them before it exits.
		f.log.Info("worker draining with messages in hand", "id", id, "pid", pid, "in_flight", doc.InFlight)
		return
	}
	f.log.Info("worker draining", "id", id, "pid", pid)
}

// readStatus reads a ready worker's status at addr for scale-in.
func (f *Fleet) readStatus(ctx context.Context, addr string) (workerstatus.Report, error) {
	return f.status.Status(ctx, addr)
}
