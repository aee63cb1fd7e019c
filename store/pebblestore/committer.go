package pebblestore

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Each instance has one committer goroutine, the only one that calls into
// Pebble to commit. Callers queue their batch and wait for the result or
// for the instance to die, whichever comes first: a commit in Pebble's
// pipeline when the instance fails may never return (Pebble panics with
// the pipeline's mutex held), and no caller may hang with it. The
// committer takes every batch waiting when it is free and commits them as
// one (group commit: one write and one fsync for all of them), synced if
// any of them must be; the queue keeps the order the batches were made.
// A synced group is written and applied, then handed to the syncer, which
// waits for its fsync and answers it, while the committer goes on with the
// next group: writes of one group overlap the fsync of the previous, as in
// Pebble's own commit pipeline.

type commitJob struct {
	b    *pebble.Batch
	sync bool
	done chan error // buffered 1
}

// enqueue queues b for the committer; wait returns its result.
func (in *instance) enqueue(b *pebble.Batch, sync bool) *commitJob {
	j := &commitJob{b: b, sync: sync, done: make(chan error, 1)}
	if in.isDead() {
		b.Close()
		j.done <- unavailable(in.err)
		return j
	}
	in.qmu.Lock()
	in.queue = append(in.queue, j)
	in.qmu.Unlock()
	select {
	case in.kick <- struct{}{}:
	default: // the committer is already kicked
	}
	return j
}

// wait waits for j's result, or for the instance to die.
func (in *instance) wait(j *commitJob) error {
	select {
	case err := <-j.done:
		return err
	case <-in.dead:
		return unavailable(in.err)
	}
}

// syncGroup is a group written to the log, waiting for its fsync.
type syncGroup struct {
	b    *pebble.Batch
	jobs []*commitJob
}

// committer runs until stop is closed.
func (in *instance) committer() {
	var jobs []*commitJob
	for {
		select {
		case <-in.kick:
		case <-in.stop:
			return
		}
		for {
			in.qmu.Lock()
			jobs, in.queue = in.queue, nil
			in.qmu.Unlock()
			if len(jobs) == 0 {
				break
			}
			b, sync, err := in.merge(jobs)
			switch {
			case err != nil:
			case !sync:
				err = in.commitBatch(b, pebble.NoSync)
			case len(jobs) == 1 && in.idle():
				// A lone writer: wait for the fsync here rather than hand
				// the group to the syncer (one wake-up fewer).
				err = in.commitBatch(b, pebble.Sync)
			default:
				if err = in.commitBatchNoSyncWait(b); err == nil {
					select {
					case in.syncq <- syncGroup{b: b, jobs: jobs}:
					case <-in.dead:
						err = unavailable(in.err)
					}
					continue
				}
			}
			answer(jobs, err)
		}
	}
}

// idle reports whether no batch waits for the committer.
func (in *instance) idle() bool {
	in.qmu.Lock()
	defer in.qmu.Unlock()
	return len(in.queue) == 0
}

// syncer answers each written group once its fsync is done.
func (in *instance) syncer() {
	for {
		select {
		case g := <-in.syncq:
			err := g.b.SyncWait()
			if err != nil {
				in.fail(fatalError{msg: err.Error()})
				err = unavailable(err)
			} else {
				g.b.Close()
			}
			answer(g.jobs, err)
		case <-in.stop:
			return
		}
	}
}

func answer(jobs []*commitJob, err error) {
	for _, j := range jobs {
		j.done <- err
	}
}

// merge returns one batch holding jobs' batches, and whether any must be
// synced.
func (in *instance) merge(jobs []*commitJob) (*pebble.Batch, bool, error) {
	sync := false
	for _, j := range jobs {
		sync = sync || j.sync
	}
	if len(jobs) == 1 {
		return jobs[0].b, sync, nil
	}
	merged := in.db.NewBatch()
	for _, j := range jobs {
		err := merged.Apply(j.b, nil)
		j.b.Close()
		if err != nil {
			merged.Close()
			return nil, false, fmt.Errorf("pebblestore: %w", err)
		}
	}
	return merged, sync, nil
}

// commitBatchNoSyncWait writes and applies b, synced, without waiting for
// the fsync (the syncer does), recovering Pebble's panics as commitBatch.
func (in *instance) commitBatchNoSyncWait(b *pebble.Batch) (err error) {
	if in.isDead() {
		return unavailable(in.err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = in.recovered(r)
		}
	}()
	return in.db.ApplyNoSyncWait(b, pebble.Sync)
}

func (in *instance) recovered(r any) error {
	f, ok := r.(fatalError)
	if !ok {
		f = fatalError{msg: fmt.Sprintf("pebble commit panicked: %v", r)}
	}
	in.fail(f)
	return unavailable(f)
}

// commitBatch commits b. A Pebble Fatalf during the commit panics with a
// fatalError (see logger), and Pebble itself panics when its log writer
// fails: either is recovered here, marks the instance dead and becomes an
// error; b then stays with the dead instance and is not closed.
func (in *instance) commitBatch(b *pebble.Batch, o *pebble.WriteOptions) (err error) {
	if in.isDead() {
		return unavailable(in.err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = in.recovered(r)
		}
	}()
	err = b.Commit(o)
	b.Close()
	return err
}
