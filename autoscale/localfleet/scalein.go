package localfleet

import (
	"context"
	"fmt"
	"slices"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/worker/workerstatus"
)

// SetDesired implements autoscale.Fleet. Scale-out spawns workers at once;
// scale-in chooses the workers to remove with workerstatus.Order, reading
// every running worker's /status when workers still starting are not
// enough, and drains the chosen ones. It returns without waiting for
// workers to start or exit.
func (f *Fleet) SetDesired(ctx context.Context, n int) error {
	if n < 0 || n > f.opts.MaxWorkers {
		return fmt.Errorf("localfleet: SetDesired(%d): %w (0..%d)", n, autoscale.ErrInvalidDesired, f.opts.MaxWorkers)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localfleet: %w", err)
	}
	f.setMu.Lock()
	defer f.setMu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localfleet: %w", err)
	}

	f.mu.Lock()
	if err := f.usableLocked(); err != nil {
		f.mu.Unlock()
		return err
	}
	var active []*slot
	for _, s := range f.slots {
		if s.active() {
			active = append(active, s)
		}
	}
	if len(active) <= n {
		f.desired = n
		for range n - len(active) {
			f.spawnSlotLocked()
		}
		f.mu.Unlock()
		return nil
	}
	excess := len(active) - n
	cands, addrs, starting := candidatesLocked(active)
	f.mu.Unlock()

	// Workers still starting go first: read the others only when those
	// are not enough.
	read := starting < excess
	if read {
		err := workerstatus.ReadAll(ctx, cands, len(cands), func(ctx context.Context, i int) (workerstatus.Report, error) {
			return f.readStatus(ctx, addrs[i])
		})
		if err != nil {
			return fmt.Errorf("localfleet: reading worker status: %w", err)
		}
	}
	order := workerstatus.Order(cands)
	victims := make(map[string]bool, excess)
	for _, c := range order[:excess] {
		victims[c.ID] = true
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usableLocked(); err != nil {
		return err
	}
	f.desired = n
	var ids []string
	for _, s := range active {
		if !victims[s.id] || !s.active() {
			continue // kept; or exited on its own meanwhile, or stopping
		}
		s.removed = true
		close(s.stop)
		ids = append(ids, s.id)
	}
	if read {
		f.log.Info("scaling in", "desired", n, "victims", ids, "ranking", rankingSummary(order), "busy", workerstatus.CountBusy(cands))
	} else {
		f.log.Info("scaling in", "desired", n, "victims", ids)
	}
	return nil
}

// candidatesLocked describes the active slots for workerstatus.Order,
// newest first (so that starting workers spawned at the same instant go
// newest first too), with their status addresses and how many are still
// starting. Called with Fleet.mu held.
func candidatesLocked(active []*slot) (cands []workerstatus.Candidate, addrs []string, starting int) {
	for _, s := range slices.Backward(active) {
		c := workerstatus.Candidate{ID: s.id, Starting: !s.ready, StartedAt: s.startedAt}
		if c.StartedAt.IsZero() {
			c.StartedAt = s.since // not spawned yet
		}
		if c.Starting {
			starting++
		}
		cands = append(cands, c)
		addrs = append(addrs, s.addr)
	}
	return cands, addrs, starting
}

func (f *Fleet) usableLocked() error {
	switch {
	case f.stopping:
		return fmt.Errorf("localfleet: %w", ErrStopped)
	case !f.started:
		return fmt.Errorf("localfleet: %w", ErrNotStarted)
	}
	return nil
}

// rankingSummary is the scale-in order as "id=class" for the log.
func rankingSummary(order []workerstatus.Candidate) []string {
	out := make([]string, len(order))
	for i, c := range order {
		out[i] = c.ID + "=" + c.Class().String()
	}
	return out
}
