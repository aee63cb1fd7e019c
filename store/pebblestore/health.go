package pebblestore

import (
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble"

	"github.com/qscale/qscale/queue"
)

// Health reports whether the store accepts new messages now: nil when it
// does; an error wrapping queue.ErrStoreFull while its disk has less free
// space than the watermark plus room for a largest message (so a send of
// any size would pass), queue.ErrStoreUnavailable while a failed database
// waits to be reopened, or pebble.ErrClosed after Close. It asks the file
// system for its free space, so it suits a health probe, not every request.
func (s *Store) Health() error {
	if in := s.cur.Load(); in == nil || in.isDead() {
		s.instMu.Lock()
		shut, inst, last := s.shut, s.inst, s.lastFail
		s.instMu.Unlock()
		switch {
		case shut:
			return pebble.ErrClosed
		case inst != nil && inst.isDead():
			return unavailable(inst.err)
		case inst == nil:
			return unavailable(last)
		}
	}
	if !s.space.roomFor(queue.MaxMessageSize) {
		return fmt.Errorf("pebblestore: %w", queue.ErrStoreFull)
	}
	return nil
}

// Checkpoint writes a consistent copy of the store into dir, which must not
// exist, while the store keeps serving: every message whose send was
// answered before the call is in it, and the lazy operations waiting then
// (receives, deletes) are committed first. Pebble hard-links the immutable
// table files where it can, so a checkpoint on the same file system costs
// little space until the store compacts. Open(dir) opens the copy as a
// store of its own.
func (s *Store) Checkpoint(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("pebblestore: checkpoint into %s: %w", dir, os.ErrExist)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pebblestore: checkpoint into %s: %w", dir, err)
	}
	if err := s.flushLazy(); err != nil {
		return err
	}
	in, err := s.current()
	if err != nil {
		return err
	}
	if err := in.run(func() error { return in.db.Checkpoint(dir, pebble.WithFlushedWAL()) }); err != nil {
		return fmt.Errorf("pebblestore: checkpoint into %s: %w", dir, err)
	}
	return nil
}

// roomFor reports whether the file system has the watermark free and n
// bytes more now.
func (g *spaceGuard) roomFor(n int64) bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.refreshLocked(); err != nil {
		return true // cannot tell: as allow does
	}
	return g.avail-n >= g.need
}
