package queue

import (
	"context"
	"time"
)

// Store makes the engine's state durable. The engine keeps every message in
// memory and uses the store only to survive restarts, so a Store needs no
// queries: it writes batches of operations and replays them at start.
//
// The engine relies on this asymmetry of at-least-once delivery: a batch
// committed with durable=true (sends, queue changes) must be on stable
// storage when Commit returns; a batch committed with durable=false
// (receives, deletes, visibility changes) may be lost in a crash, which only
// causes redelivery, but it must never be applied partially, and batches must
// be applied in the order their Commit calls returned.
type Store interface {
	// Load replays the stored state: every queue first, then every message
	// with its latest state, in sequence order within a queue.
	Load(ctx context.Context, queues func(QueueRecord) error, messages func(queueID uint64, m *Message, st MessageState) error) error
	// Commit applies ops atomically.
	Commit(ctx context.Context, ops []Op, durable bool) error
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
	OpUpdateMessage                   // QueueID, Message.Seq, State: new state of a stored message
	OpDeleteMessage                   // QueueID, Seq
	OpPurge                           // QueueID, Seq: every message with a smaller Seq
)

// Op is one change to the stored state.
type Op struct {
	Kind    OpKind
	QueueID uint64
	Queue   *QueueRecord
	Message *Message // immutable fields only; State carries the rest
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

// MemoryStore keeps nothing: the engine's in-memory mode.
type MemoryStore struct{}

// Load replays nothing.
func (MemoryStore) Load(context.Context, func(QueueRecord) error, func(uint64, *Message, MessageState) error) error {
	return nil
}

// Commit does nothing.
func (MemoryStore) Commit(context.Context, []Op, bool) error { return nil }

// Close does nothing.
func (MemoryStore) Close() error { return nil }

// NewStoredMessage rebuilds a message read back from a store.
func NewStoredMessage(m Message) *Message {
	mm := m
	mm.heapIndex = -1
	return &mm
}
