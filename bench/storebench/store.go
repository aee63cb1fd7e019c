// Package storebench measures embedded storage candidates for qscale's durable
// queue server under the queue engine's access pattern: the engine keeps every
// message in memory and uses the store only for durability. Sends are durable
// (fsynced) before the server answers; receives and deletes are persisted lazily
// and flushed in groups; recovery reads everything back at startup.
package storebench

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// Msg is what the store keeps of one message.
type Msg struct {
	ID        uint64
	Received  uint32 // receive count
	VisibleAt int64  // visibility deadline, unix nanoseconds
	Body      []byte
}

// Store is the durability seam the queue engine would use.
type Store interface {
	// Send returns once msgs are durable (fsynced).
	Send(msgs []Msg) error
	// Receive records a receive lazily: it returns before the record is durable.
	Receive(id uint64, received uint32, visibleAt int64) error
	// Delete records a delete lazily.
	Delete(id uint64) error
	// Flush returns once every earlier lazy record is durable.
	Flush() error
	// Recover calls fn for every live message.
	Recover(fn func(Msg)) error
	Close() error
}

// Compacter is implemented by stores that can give back disk space on request.
type Compacter interface {
	Compact() error
}

var errClosed = errors.New("storebench: store closed")

type opKind uint8

const (
	opPut opKind = iota + 1
	opReceive
	opDelete
)

type op struct {
	kind opKind
	msg  Msg
}

// committer writes one group of ops; sync says whether the group must be durable
// before commit returns.
type committer interface {
	commit(ops []op, sync bool) error
}

// Lazy ops wait for the next durable group, for lazyInterval, or until
// lazyThreshold of them are pending, whichever comes first.
const (
	lazyInterval  = 10 * time.Millisecond
	lazyThreshold = 4096
)

// groupWriter is a single writer goroutine doing group commit: it gathers the
// ops of every waiting caller, commits them at once with one fsync, and
// signals all durable waiters.
type groupWriter struct {
	c committer

	mu       sync.Mutex // mu guards the fields below
	pending  []op
	waiters  []chan error
	needSync bool
	closed   bool

	wake chan struct{} // capacity 1
	stop chan struct{}
	done chan struct{}
}

func newGroupWriter(c committer) *groupWriter {
	w := &groupWriter{
		c:    c,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

func (w *groupWriter) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// durable submits ops and waits until they are fsynced.
func (w *groupWriter) durable(ops []op) error {
	ch := make(chan error, 1)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.pending = append(w.pending, ops...)
	w.waiters = append(w.waiters, ch)
	w.needSync = true
	w.mu.Unlock()
	w.kick()
	return <-ch
}

// lazy submits one op without waiting.
func (w *groupWriter) lazy(o op) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.pending = append(w.pending, o)
	n := len(w.pending)
	w.mu.Unlock()
	if n >= lazyThreshold {
		w.kick()
	}
	return nil
}

func (w *groupWriter) flush() error { return w.durable(nil) }

func (w *groupWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(lazyInterval)
	defer tick.Stop()
	var spare []op
	for {
		stopping := false
		select {
		case <-w.wake:
		case <-tick.C:
		case <-w.stop:
			stopping = true
		}
		w.mu.Lock()
		ops, waiters, sync := w.pending, w.waiters, w.needSync
		w.pending, w.waiters, w.needSync = spare[:0], nil, false
		w.mu.Unlock()
		if len(ops) > 0 || sync || stopping {
			err := w.c.commit(ops, sync || stopping)
			for _, ch := range waiters {
				ch <- err
			}
		}
		clear(ops)
		spare = ops
		if stopping {
			return
		}
	}
}

func (w *groupWriter) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
}

func idKey(prefix byte, id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func encodeMeta(received uint32, visibleAt int64) []byte {
	v := make([]byte, 12)
	binary.BigEndian.PutUint32(v, received)
	binary.BigEndian.PutUint64(v[4:], uint64(visibleAt))
	return v
}

func decodeMeta(v []byte) (uint32, int64) {
	if len(v) < 12 {
		return 0, 0
	}
	return binary.BigEndian.Uint32(v), int64(binary.BigEndian.Uint64(v[4:]))
}
