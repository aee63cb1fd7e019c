// Package pebblestore keeps qscale's queues in a Pebble database (the LSM
// storage engine of CockroachDB). Durable batches are committed with Sync,
// which Pebble groups across concurrent committers into one fsync; lazy
// batches go to the write-ahead log without waiting for it.
//
// Keys: 'q'+queueID -> queue record (JSON); 'm'+queueID+seq -> message;
// 's'+queueID+seq -> the message's latest state, once it changes.
package pebblestore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/qscale/qscale/queue"
)

// Store is a queue.Store over Pebble.
//
// Lazy batches (receives, deletes, visibility changes) are gathered in
// memory and committed together, every LazyDelay or once LazyOps
// operations wait, or first thing in the next durable commit, whichever
// comes first: one pebble commit and one WAL write for many calls instead
// of one each. They are applied in the order their Commit calls made them;
// a crash of the process may lose the last LazyDelay of them, which
// at-least-once delivery allows (the messages are delivered again).
type Store struct {
	db *pebble.DB

	mu     sync.Mutex    // guards the fields below; held while lazy is committed, so lazy batches apply in order
	lazy   *pebble.Batch // lazy ops not yet committed, or nil
	lazyN  int           // ops in lazy
	timer  *time.Timer   // commits lazy after LazyDelay; nil when none is set
	closed bool
}

// Lazy batches wait at most LazyDelay, or until LazyOps operations are
// waiting, before they are committed.
const (
	LazyDelay = 2 * time.Millisecond
	LazyOps   = 1024
)

var _ queue.Store = (*Store)(nil)

// Open opens or creates the store in dir.
func Open(dir string) (*Store, error) {
	opts := &pebble.Options{
		Logger:       quietLogger{},
		MemTableSize: 32 << 20,
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebblestore: "+format, args...))
}

func queueKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{'q'}, id)
}

func msgKey(kind byte, qid, seq uint64) []byte {
	k := make([]byte, 17)
	k[0] = kind
	binary.BigEndian.PutUint64(k[1:], qid)
	binary.BigEndian.PutUint64(k[9:], seq)
	return k
}

// Commit applies ops in one atomic batch: durable ones before Commit
// returns, lazy ones within LazyDelay.
func (s *Store) Commit(ctx context.Context, ops []queue.Op, durable bool) error {
	if !durable {
		return s.commitLazy(ops)
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := encodeOps(b, ops); err != nil {
		return err
	}
	// Lazy ops made before this commit apply before it.
	if err := s.flushLazy(); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("pebblestore commit: %w", err)
	}
	return nil
}

func (s *Store) commitLazy(ops []queue.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pebble.ErrClosed
	}
	if s.lazy == nil {
		s.lazy = s.db.NewBatch()
	}
	// A batch is atomic: encode into a scratch batch first, so a bad op
	// leaves nothing half-applied in the shared one.
	b := s.db.NewBatch()
	defer b.Close()
	if err := encodeOps(b, ops); err != nil {
		return err
	}
	if err := s.lazy.Apply(b, nil); err != nil {
		return fmt.Errorf("pebblestore: %w", err)
	}
	s.lazyN += len(ops)
	if s.lazyN >= LazyOps {
		return s.flushLazyLocked()
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(LazyDelay, func() {
			if err := s.flushLazy(); err != nil && !errors.Is(err, pebble.ErrClosed) {
				quietLogger{}.Errorf("lazy commit: %v", err)
			}
		})
	}
	return nil
}

// flushLazy commits the waiting lazy ops.
func (s *Store) flushLazy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLazyLocked()
}

func (s *Store) flushLazyLocked() error {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	b := s.lazy
	if b == nil {
		return nil
	}
	s.lazy, s.lazyN = nil, 0
	defer b.Close()
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("pebblestore lazy commit: %w", err)
	}
	return nil
}

// encodeOps adds ops to b.
func encodeOps(b *pebble.Batch, ops []queue.Op) error {
	var buf []byte
	for _, op := range ops {
		var err error
		switch op.Kind {
		case queue.OpPutQueue:
			var v []byte
			v, err = json.Marshal(op.Queue)
			if err == nil {
				err = b.Set(queueKey(op.QueueID), v, nil)
			}
		case queue.OpDeleteQueue:
			err = b.Delete(queueKey(op.QueueID), nil)
			for _, kind := range []byte{'m', 's'} {
				if err == nil {
					err = b.DeleteRange(msgKey(kind, op.QueueID, 0), msgKey(kind, op.QueueID, math.MaxUint64), nil)
				}
				if err == nil {
					err = b.Delete(msgKey(kind, op.QueueID, math.MaxUint64), nil)
				}
			}
		case queue.OpPutMessage:
			buf = encodeMessage(buf[:0], op.Message, op.State)
			err = b.Set(msgKey('m', op.QueueID, op.Message.Seq), buf, nil)
		case queue.OpUpdateMessage:
			buf = encodeState(buf[:0], op.State)
			err = b.Set(msgKey('s', op.QueueID, op.Message.Seq), buf, nil)
		case queue.OpDeleteMessage:
			err = b.Delete(msgKey('m', op.QueueID, op.Seq), nil)
			if err == nil {
				err = b.Delete(msgKey('s', op.QueueID, op.Seq), nil)
			}
		case queue.OpPurge:
			for _, kind := range []byte{'m', 's'} {
				if err == nil {
					err = b.DeleteRange(msgKey(kind, op.QueueID, 0), msgKey(kind, op.QueueID, op.Seq), nil)
				}
			}
		default:
			err = fmt.Errorf("unknown op kind %d", op.Kind)
		}
		if err != nil {
			return fmt.Errorf("pebblestore: %w", err)
		}
	}
	return nil
}

// Load replays every queue, then every message with its latest state.
func (s *Store) Load(ctx context.Context, queues func(queue.QueueRecord) error, messages func(uint64, *queue.Message, queue.MessageState) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'q'}, UpperBound: []byte{'r'}})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		var r queue.QueueRecord
		if err := json.Unmarshal(it.Value(), &r); err != nil {
			it.Close()
			return fmt.Errorf("pebblestore: queue record %x: %w", it.Key(), err)
		}
		if err := queues(r); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return err
	}

	// States are few (received messages only) and small: read them first.
	type key struct{ qid, seq uint64 }
	states := map[key]queue.MessageState{}
	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'s'}, UpperBound: []byte{'t'}})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 17 {
			continue
		}
		st, err := decodeState(it.Value())
		if err != nil {
			it.Close()
			return fmt.Errorf("pebblestore: state %x: %w", k, err)
		}
		states[key{binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint64(k[9:])}] = st
	}
	if err := it.Close(); err != nil {
		return err
	}

	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'m'}, UpperBound: []byte{'n'}})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := it.Key()
		if len(k) != 17 {
			continue
		}
		qid, seq := binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint64(k[9:])
		m, st, err := decodeMessage(it.Value(), seq)
		if err != nil {
			return fmt.Errorf("pebblestore: message %x: %w", k, err)
		}
		if s2, ok := states[key{qid, seq}]; ok {
			st = s2
		}
		if err := messages(qid, m, st); err != nil {
			return err
		}
	}
	return nil
}

// Close commits the waiting lazy ops, flushes and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	err := s.flushLazyLocked()
	s.closed = true
	s.mu.Unlock()
	if err != nil {
		s.db.Close()
		return err
	}
	if err := s.db.Flush(); err != nil {
		s.db.Close()
		return err
	}
	return s.db.Close()
}
