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
	"fmt"
	"math"

	"github.com/cockroachdb/pebble"

	"github.com/qscale/qscale/queue"
)

// Store is a queue.Store over Pebble.
type Store struct {
	db *pebble.DB
}

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

// Commit applies ops in one atomic batch.
func (s *Store) Commit(ctx context.Context, ops []queue.Op, durable bool) error {
	b := s.db.NewBatch()
	defer b.Close()
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
	opt := pebble.NoSync
	if durable {
		opt = pebble.Sync
	}
	if err := b.Commit(opt); err != nil {
		return fmt.Errorf("pebblestore commit: %w", err)
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

// Close flushes and closes the database.
func (s *Store) Close() error {
	if err := s.db.Flush(); err != nil {
		s.db.Close()
		return err
	}
	return s.db.Close()
}
