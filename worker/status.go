package worker

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker/workerstatus"
)

// Report is the status document served at GET /status and written to the
// status file: package workerstatus owns its format, its version and the
// client fleets read it with (docs/worker.md).
type Report = workerstatus.Report

// Reporter serves a worker's status over HTTP and writes it to a file.
type Reporter struct {
	Worker   *Worker
	Clock    clock.Clock // clock.Real{} if nil
	QueueURL string
	// StatusAddr is the address the status endpoint listens on, reported
	// so that a parent that asked for port 0 learns the port from the file.
	StatusAddr string
	// App reports a supervised application; optional.
	App func() AppStatus
	// Metrics is served at GET /metrics; optional.
	Metrics http.Handler
	// MinFileInterval is the least time between two status file writes
	// that do not change State (default 100 ms). A change of State is
	// written at once.
	MinFileInterval time.Duration
}

func (r *Reporter) clock() clock.Clock {
	if r.Clock == nil {
		return clock.Real{}
	}
	return r.Clock
}

// Report returns the current status document.
func (r *Reporter) Report() Report {
	st := r.Worker.Status()
	rep := Report{
		Version:     workerstatus.Version,
		State:       st.State,
		Since:       st.Since,
		InFlight:    st.InFlight,
		Running:     st.Running,
		Concurrency: st.Concurrency,
		Counts:      st.Counts,
		Now:         r.clock().Now(),
		PID:         os.Getpid(),
		QueueURL:    r.QueueURL,
		StatusAddr:  r.StatusAddr,
		Errors:      st.Errors,
	}
	if r.App != nil {
		a := r.App()
		rep.App = &a
	}
	return rep
}

// ServeHTTP answers:
//
//	GET  /status   the Report as JSON
//	POST /drain    stop receiving, finish held messages, exit; answers 202 and the Report
//	GET  /healthz  200 "ok" while the worker runs
//	GET  /metrics  Prometheus metrics, when Metrics is set
func (r *Reporter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case workerstatus.PathStatus, "/":
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		r.writeJSON(w, http.StatusOK)
	case workerstatus.PathDrain:
		if req.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		r.Worker.Drain()
		r.writeJSON(w, http.StatusAccepted)
	case workerstatus.PathHealthz:
		_, _ = w.Write([]byte("ok\n"))
	case workerstatus.PathMetrics:
		if r.Metrics == nil {
			http.NotFound(w, req)
			return
		}
		r.Metrics.ServeHTTP(w, req)
	default:
		http.NotFound(w, req)
	}
}

func (r *Reporter) writeJSON(w http.ResponseWriter, code int) {
	b, err := r.Report().Encode()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// WriteFile keeps path holding the current Report, replaced atomically
// (workerstatus.WriteFile), until the worker has stopped, when it writes
// the final report (state "stopped") and returns. It uses the worker's
// Changed channel: run one per worker.
func (r *Reporter) WriteFile(ctx context.Context, path string) error {
	minGap := r.MinFileInterval
	if minGap == 0 {
		minGap = 100 * time.Millisecond
	}
	clk := r.clock()
	var last State
	var lastAt time.Time
	for {
		rep := r.Report()
		if err := workerstatus.WriteFile(path, rep); err != nil {
			return err
		}
		last, lastAt = rep.State, clk.Now()
		if rep.State == StateStopped {
			return nil
		}
		select {
		case <-r.Worker.Changed():
		case <-r.Worker.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		if st := r.Worker.Status().State; st == last {
			if wait := minGap - clk.Now().Sub(lastAt); wait > 0 {
				t := clk.NewTimer(wait)
				select {
				case <-t.C():
				case <-r.Worker.Done():
					t.Stop()
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				}
			}
		}
	}
}
