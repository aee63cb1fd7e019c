package queue

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Store makes the engine's state durable and holds what is large of every
// message. The engine keeps in memory only an index of each queue (order,
// timing and receive state of every message); bodies and attributes live in
// the store, and the engine reads them back (ReadMessages) when a receive
// or a move needs them. At start the store replays the index (Load),
// without the bodies.
//
// The engine relies on this asymmetry of at-least-once delivery: a batch
// committed with durable=true (sends, queue changes) must be on stable
// storage when Commit returns; a batch committed with durable=false
// (receives, deletes, visibility changes) may be lost in a crash, which only
// causes redelivery, but it must never be applied partially, and batches must
// be applied in the order their Commit calls returned.
type Store interface {
	// Load replays the stored state: every queue first, then every message
	// with its latest state, in sequence order within a queue. A replayed
	// message carries every field but Body, Attributes and
	// SystemAttributes, which Load must not read: a restart reads the
	// index of the backlog, not the backlog. The *Message and its strings
	// are valid only during the call (a store may reuse the one and point
	// the others into its read buffers); the engine copies what it keeps.
	Load(ctx context.Context, queues func(QueueRecord) error, messages func(queueID uint64, m *Message, st MessageState) error) error
	// Commit applies ops atomically.
	Commit(ctx context.Context, ops []Op, durable bool) error
	// ReadMessages returns the stored messages seqs of queue queueID, whole
	// (body and attributes included), in the order of seqs, with nil for
	// a message the store does not hold (deleted, purged). A message whose
	// put was committed, durably or lazily, before the call is read back;
	// one deleted lazily may still be read until a durable commit made
	// after the delete returns (the engine never reads a message it
	// deleted).
	// The returned messages must not be modified.
	ReadMessages(ctx context.Context, queueID uint64, seqs []uint64) ([]*Message, error)
	// Close flushes and releases the store.
	Close() error
}

// OpKind says what an Op does.
type OpKind uint8

// The operations a Store applies.
const (
	OpPutQueue      OpKind = iota + 1 // Queue: create or replace a queue record
	OpDeleteQueue                     // QueueID: the queue and all its messages
	OpPutMessage                      // QueueID, Message, State: a new message
	OpUpdateMessage                   // QueueID, Seq, State: new state of a stored message
	OpDeleteMessage                   // QueueID, Seq
	OpPurge                           // QueueID, Seq: every message with a smaller Seq
)

// Op is one change to the stored state.
type Op struct {
	Kind    OpKind
	QueueID uint64
	Queue   *QueueRecord
	Message *Message // OpPutMessage: the whole message; State carries the rest
	State   MessageState
	Seq     uint64
}

// QueueRecord is what the store keeps of a queue.
type QueueRecord struct {
	ID         uint64            `json:"id"`
	Name       string            `json:"name"`
	Config     Config            `json:"config"`
	Tags       map[string]string `json:"tags,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	ModifiedAt time.Time         `json:"modifiedAt"`
}

// MemoryStore keeps messages in memory and nothing across restarts: the
// engine's in-memory mode. Its zero value is ready to use, and copies of it
// share their messages.
type MemoryStore struct {
	d *memoryData
}

// memoryData is what a MemoryStore holds.
type memoryData struct {
	mu   sync.Mutex                     // guards msgs
	msgs map[uint64]map[uint64]*Message // queue id -> seq -> message
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() MemoryStore {
	return MemoryStore{d: &memoryData{msgs: map[uint64]map[uint64]*Message{}}}
}

// Load replays nothing: a MemoryStore starts empty.
func (MemoryStore) Load(context.Context, func(QueueRecord) error, func(uint64, *Message, MessageState) error) error {
	return nil
}

// Commit applies ops to the messages held. The zero MemoryStore (one the
// engine did not open) accepts and keeps nothing.
func (s MemoryStore) Commit(_ context.Context, ops []Op, _ bool) error {
	if s.d == nil {
		return nil
	}
	for _, op := range ops {
		if op.Kind < OpPutQueue || op.Kind > OpPurge {
			return fmt.Errorf("memory store: unknown op kind %d", op.Kind)
		}
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, op := range ops {
		switch op.Kind {
		case OpDeleteQueue:
			delete(s.d.msgs, op.QueueID)
		case OpPutMessage:
			q := s.d.msgs[op.QueueID]
			if q == nil {
				q = map[uint64]*Message{}
				s.d.msgs[op.QueueID] = q
			}
			q[op.Message.Seq] = op.Message
		case OpDeleteMessage:
			delete(s.d.msgs[op.QueueID], op.Seq)
		case OpPurge:
			for seq := range s.d.msgs[op.QueueID] {
				if seq < op.Seq {
					delete(s.d.msgs[op.QueueID], seq)
				}
			}
		}
	}
	return nil
}

// ReadMessages returns the messages held.
func (s MemoryStore) ReadMessages(_ context.Context, queueID uint64, seqs []uint64) ([]*Message, error) {
	out := make([]*Message, len(seqs))
	if s.d == nil {
		return out, nil
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	q := s.d.msgs[queueID]
	for i, seq := range seqs {
		out[i] = q[seq]
	}
	return out, nil
}

// Close does nothing.
func (MemoryStore) Close() error { return nil }

// NewStoredMessage rebuilds a message read back from a store.
func NewStoredMessage(m Message) *Message {
	mm := m
	return &mm
}
