package pebblestore

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// committers run Pebble commits for callers that wait for the result or
// for their instance to die, whichever comes first. A commit that is in
// Pebble's pipeline when the instance fails may never return (Pebble
// panics with the pipeline's mutex held, or leaves a failed batch at the
// head of its queue); its caller must not hang with it. The goroutines are
// kept and reused, so a commit costs a channel hand-off, not a new
// goroutine and its stack growth; one stuck in a dead instance is simply
// replaced.
type committers struct {
	jobs chan commitJob // unbuffered: a send succeeds only when a committer is idle
	stop chan struct{}  // closed by Close: idle committers exit
}

type commitJob struct {
	in   *instance
	b    *pebble.Batch
	o    *pebble.WriteOptions
	done chan error // buffered 1
}

func newCommitters() *committers {
	return &committers{jobs: make(chan commitJob), stop: make(chan struct{})}
}

// commit commits b to in and returns its error, or ErrStoreUnavailable as
// soon as in dies.
func (c *committers) commit(in *instance, b *pebble.Batch, o *pebble.WriteOptions) error {
	if in.isDead() {
		return unavailable(in.err)
	}
	j := commitJob{in: in, b: b, o: o, done: make(chan error, 1)}
	select {
	case c.jobs <- j:
	default:
		go c.run(j)
	}
	select {
	case err := <-j.done:
		return err
	case <-in.dead:
		return unavailable(in.err)
	}
}

func (c *committers) run(j commitJob) {
	for {
		j.done <- j.in.commitBatch(j.b, j.o)
		select {
		case j = <-c.jobs:
		case <-c.stop:
			return
		}
	}
}

func (c *committers) close() { close(c.stop) }

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
			f, ok := r.(fatalError)
			if !ok {
				f = fatalError{msg: fmt.Sprintf("pebble commit panicked: %v", r)}
			}
			in.fail(f)
			err = unavailable(f)
		}
	}()
	err = b.Commit(o)
	b.Close()
	return err
}
