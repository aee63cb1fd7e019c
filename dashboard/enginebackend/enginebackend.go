// Package enginebackend is a dashboard.Backend over qscale's embedded queue
// engine, an autoscaler's decisions and a fleet: what `qscale up` shows.
package enginebackend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/queue"
)

// Config says what the Backend reads.
type Config struct {
	// Engine holds the queues; required.
	Engine *queue.Engine
	// Queue names the autoscaled queue, the one the charts show; empty
	// charts the sums over Queues, or over all queues.
	Queue string
	// Queues, when set, are the fleet's queues (several): the backlog per
	// worker counts their visible messages alone.
	Queues []string
	// Decisions returns recent autoscaler decisions, oldest first, such as
	// (*autoscale.Controller).Decisions; nil when no autoscaler runs.
	Decisions func(n int) []autoscale.Decision
	// Fleet is the autoscaled fleet; nil when there is none.
	Fleet autoscale.Fleet
	// Workers lists the fleet's workers; nil when it cannot tell.
	Workers func() []dashboard.WorkerInfo
	// QueueURL returns a queue's URL for the queues table; nil leaves it
	// empty.
	QueueURL func(name string) string
	// Failures reports the fleet's handler failures and warnings; nil
	// leaves Sample.Failures nil.
	Failures func() dashboard.Failures
}

// Backend implements dashboard.Backend. It is safe for concurrent use.
type Backend struct{ c Config }

var _ dashboard.Backend = (*Backend)(nil)

// New returns a Backend.
func New(c Config) (*Backend, error) {
	if c.Engine == nil {
		return nil, errors.New("enginebackend: Config.Engine is required")
	}
	return &Backend{c: c}, nil
}

// Sample implements dashboard.Backend: every queue's counts and counters, the
// fleet's state, and the target and processing time of the latest decision.
func (b *Backend) Sample(ctx context.Context) (dashboard.Sample, error) {
	s := dashboard.Sample{Queue: b.c.Queue, Charted: b.c.Queues}
	visible := 0
	for _, q := range b.c.Engine.Queues() {
		c, st := q.Counts(), q.Stats()
		s.Queues = append(s.Queues, dashboard.QueueSample{
			Name: q.Name(), Visible: c.Visible, InFlight: c.Inflight, Delayed: c.Delayed,
			Sent: st.Sent, Received: st.Received, Deleted: st.Deleted,
		})
		if b.counts(q.Name()) {
			visible += c.Visible
		}
	}
	sort.Slice(s.Queues, func(i, j int) bool { return s.Queues[i].Name < s.Queues[j].Name })
	if b.c.Fleet != nil {
		f, err := b.c.Fleet.State(ctx)
		if err != nil {
			return s, fmt.Errorf("enginebackend: fleet state: %w", err)
		}
		s.Fleet = f
	}
	s.BacklogPerWorker = float64(visible)
	if s.Fleet.Running > 0 {
		s.BacklogPerWorker = float64(visible) / float64(s.Fleet.Running)
	}
	if b.c.Failures != nil {
		f := b.c.Failures()
		s.Failures = &f
	}
	if b.c.Decisions != nil {
		if ds := b.c.Decisions(1); len(ds) > 0 {
			d := ds[len(ds)-1]
			s.ProcessingTime = d.Observation.Queue.ProcessingTime
			for _, p := range d.Proposals {
				if !p.Abstain && p.Target > 0 && (s.Target == 0 || p.Target < s.Target) {
					s.Target = p.Target
				}
			}
		}
	}
	return s, nil
}

// counts reports whether the named queue's backlog is the fleet's.
func (b *Backend) counts(name string) bool {
	if len(b.c.Queues) > 0 {
		return slices.Contains(b.c.Queues, name)
	}
	return b.c.Queue == "" || name == b.c.Queue
}

// Queues implements dashboard.Backend.
func (b *Backend) Queues(ctx context.Context) ([]dashboard.QueueInfo, error) {
	var out []dashboard.QueueInfo
	for _, q := range b.c.Engine.Queues() {
		attrs, err := q.Attributes([]string{"All"})
		if err != nil {
			return nil, fmt.Errorf("enginebackend: attributes of %s: %w", q.Name(), err)
		}
		info := dashboard.QueueInfo{Name: q.Name(), Attributes: attrs}
		if b.c.QueueURL != nil {
			info.URL = b.c.QueueURL(q.Name())
		}
		out = append(out, info)
	}
	return out, nil
}

// Decisions implements dashboard.Backend.
func (b *Backend) Decisions(n int) []autoscale.Decision {
	if b.c.Decisions == nil {
		return nil
	}
	return b.c.Decisions(n)
}

// Workers implements dashboard.Backend.
func (b *Backend) Workers() []dashboard.WorkerInfo {
	if b.c.Workers == nil {
		return nil
	}
	return b.c.Workers()
}

// Send implements dashboard.Backend. A message to a FIFO queue goes to the
// message group "qscale-dashboard" with a fresh deduplication ID.
func (b *Backend) Send(ctx context.Context, name, body string) (string, error) {
	q, err := b.c.Engine.Queue(name)
	if err != nil {
		return "", err
	}
	in := queue.SendInput{Body: body}
	if q.IsFIFO() {
		var id [16]byte
		rand.Read(id[:])
		in.GroupID, in.DedupID = "qscale-dashboard", hex.EncodeToString(id[:])
	}
	res, err := q.Send(ctx, in)
	if err != nil {
		return "", err
	}
	return res.MessageID, nil
}

// Purge implements dashboard.Backend.
func (b *Backend) Purge(ctx context.Context, name string) error {
	q, err := b.c.Engine.Queue(name)
	if err != nil {
		return err
	}
	return q.Purge(ctx)
}

// WithPause returns b with a pause button: p (the fleet's autoscaler,
// *autoscale.Controller) is paused and resumed from the dashboard.
func (b *Backend) WithPause(p dashboard.Pauser) dashboard.Backend { return pausable{b, p} }

// pausable is a Backend whose autoscaler the dashboard can pause.
type pausable struct {
	*Backend
	p dashboard.Pauser
}

var _ dashboard.Pauser = pausable{}

func (p pausable) Pause(by string)        { p.p.Pause(by) }
func (p pausable) Resume()                { p.p.Resume() }
func (p pausable) Paused() (bool, string) { return p.p.Paused() }
