// Package pebblestore keeps qscale's queues in a Pebble database (the LSM
// storage engine of CockroachDB). Durable batches are committed with Sync,
// which Pebble groups across concurrent committers into one fsync; lazy
// batches go to the write-ahead log without waiting for it.
//
// Keys: 'q'+queueID -> queue record (JSON); 'm'+queueID+seq -> the
// message's index record (no body); 'b'+queueID+seq -> the whole message,
// body and attributes included; 's'+queueID+seq -> the message's latest
// state, once it changes. Load reads 'q', 's' and 'm' only; ReadMessages
// reads 'b'. Stores written before the split hold whole messages under 'm'
// and no 'b': both are read.
//
// The store refuses to open a damaged database (see Open and docs/storage.md)
// instead of serving part of it, refuses new messages before its disk is
// full, and survives a failed write by reopening the database.
package pebblestore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/qscale/qscale/queue"
)

// Options configure a Store.
type Options struct {
	// Logger receives Pebble's messages and the store's own (default: none).
	Logger *slog.Logger
	// Repair rebuilds a damaged store from what can still be read, instead
	// of refusing to open it, and reports what was lost (Store.Repair). The
	// damaged files are kept beside the store.
	Repair bool
	// MinFreeBytes is the free space the store keeps on its file system:
	// below it, new messages and queues are refused with
	// queue.ErrStoreFull. 0 means DefaultMinFreeBytes; negative, none.
	MinFreeBytes int64
	// MinFreePercent is the same watermark as a percentage of the file
	// system's size; the larger of the two applies.
	MinFreePercent float64
}

// Store is a queue.Store over Pebble.
//
// Lazy batches (receives, deletes, visibility changes) are gathered in
// memory and committed together, every LazyDelay or once LazyOps
// operations wait, or first thing in the next durable commit, whichever
// comes first: one pebble commit and one WAL write for many calls instead
// of one each. They are applied in the order their Commit calls made them;
// a crash of the process may lose the last LazyDelay of them, which
// at-least-once delivery allows (the messages are delivered again).
//
// Lock order: mu, then instMu.
type Store struct {
	dir    string
	log    *slog.Logger
	lock   io.Closer // the directory's lock, held for the store's life
	space  *spaceGuard
	msgs   atomic.Int64 // messages stored, as far as the store can tell
	repair *RepairReport
	// expected is the message count of the last clean shutdown (-1:
	// unknown), kept for the next repair when Load fails.
	expected int64
	loaded   atomic.Bool // Load succeeded

	cur      atomic.Pointer[instance] // the live instance, for commits' fast path; written under instMu
	instMu   sync.Mutex               // guards inst, refused and lastFail
	inst     *instance                // nil after a failed reopen
	shut     bool                     // Close began: never reopen
	refused  int                      // commits refused since the instance died
	lastFail error                    // why the last instance died or the last reopen failed

	mu        sync.Mutex    // guards the fields below; held while lazy is committed, so lazy batches apply in order
	lazy      *pebble.Batch // lazy ops not yet committed, or nil
	lazyInst  *instance     // the instance lazy was made for
	lazyN     int           // ops in lazy
	lazyDelta int64         // messages lazy adds (puts less deletes)
	lazyPuts  bool          // lazy holds messages put, which ReadMessages must see
	timer     *time.Timer   // commits lazy after LazyDelay; nil when none is set
	closed    bool
}

// Lazy batches wait at most LazyDelay, or until LazyOps operations are
// waiting, before they are committed.
const (
	LazyDelay = 2 * time.Millisecond
	LazyOps   = 1024
)

// reopenEvery is how many refused commits pass between two attempts to
// reopen a database that failed, when the disk has room.
const reopenEvery = 16

var _ queue.Store = (*Store)(nil)

// instance is one open Pebble database over the store's directory. When
// Pebble reports a fatal error the instance is dead: the store stops using
// it at once (its commit pipeline may be wedged), fences its files, and
// opens a new instance on the next write.
type instance struct {
	db   *pebble.DB
	fs   *fenceFS
	dead chan struct{} // closed when Pebble reported a fatal error
	once sync.Once
	err  error // why it died; written before dead is closed

	kick  chan struct{}  // buffered 1: batches wait in queue
	stop  chan struct{}  // closed when the instance is closed: the committer ends
	qmu   sync.Mutex     // guards queue
	queue []*commitJob   // batches waiting for the committer, in order
	syncq chan syncGroup // groups written, waiting for their fsync
}

func (in *instance) fail(err error) {
	in.once.Do(func() {
		in.err = err
		close(in.dead)
	})
}

func (in *instance) isDead() bool {
	select {
	case <-in.dead:
		return true
	default:
		return false
	}
}

// run calls f, which uses the instance's database, and waits for it unless
// the instance dies first: a call into a dead Pebble may never return. For
// the rare calls (open, load, close); commits use committers.
func (in *instance) run(f func() error) error {
	if in.isDead() {
		return unavailable(in.err)
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-in.dead:
		return unavailable(in.err)
	}
}

func unavailable(cause error) error {
	return fmt.Errorf("pebblestore: %w (%v)", queue.ErrStoreUnavailable, cause)
}

// Open opens or creates the store in dir. It checks the directory for
// damage first (see checkDir) and Load reads every index record once, so a
// damaged store fails to open with an error wrapping ErrDamaged, unless
// opts.Repair is set.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{dir: dir, log: opts.Logger, expected: -1}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := vfs.Default.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	lock, err := vfs.Default.Lock(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("open store in %s: another process uses it: %w", dir, err)
	}
	s.lock = lock
	s.space = newSpaceGuard(dir, s.log, opts.MinFreeBytes, opts.MinFreePercent)
	fail := func(err error) (*Store, error) {
		s.lock.Close()
		return nil, err
	}
	found, err := checkDir(dir)
	if err != nil {
		return fail(err)
	}
	if len(found.lines) > 0 && !opts.Repair {
		return fail(damagedError(dir, found.lines))
	}
	if opts.Repair {
		rep, err := s.repairDir(found)
		if err != nil {
			return fail(err)
		}
		s.repair = rep
	}
	// The record describes the files as they were at the last clean
	// shutdown; Pebble changes them from now on.
	if rec, err := readCleanRecord(dir); err == nil && rec != nil {
		s.expected = rec.Messages
	}
	if err := forgetCleanRecord(dir); err != nil {
		return fail(err)
	}
	in, err := s.openInstance()
	if err != nil {
		return fail(err)
	}
	s.inst = in
	s.cur.Store(in)
	return s, nil
}

// Pebble's own memory, bounded: the block cache, and at most memTablesMax
// memtables of memTableBytes (the one being written and one being
// flushed; writes wait beyond). With CGO_ENABLED=0, as qscale's release
// binaries are built, both live in the Go heap. Bodies are not read from
// Pebble at a small backlog (the engine's body cache has them), so a small
// block cache costs nothing there.
const (
	blockCacheBytes = 8 << 20
	memTableBytes   = 32 << 20
	memTablesMax    = 2
)

// openInstance opens Pebble over the store's directory.
func (s *Store) openInstance() (*instance, error) {
	in := &instance{fs: &fenceFS{FS: vfs.Default}, dead: make(chan struct{}), kick: make(chan struct{}, 1), stop: make(chan struct{}), syncq: make(chan syncGroup, 64)}
	l := logger{log: s.log, failed: in.fail, quiet: in.fs.fenced.Load}
	el := pebble.MakeLoggingEventListener(l)
	el.BackgroundError = func(err error) { l.Errorf("background error: %v", err) }
	el.DiskSlow = func(info pebble.DiskSlowInfo) {
		s.log.Warn("store disk slow", "op", info.OpType.String(), "path", info.Path, "duration", info.Duration)
	}
	cache := pebble.NewCache(blockCacheBytes)
	defer cache.Unref() // the open DB holds its own reference
	popts := &pebble.Options{
		FS:                          in.fs,
		Logger:                      l,
		EventListener:               &el,
		Cache:                       cache,
		MemTableSize:                memTableBytes,
		MemTableStopWritesThreshold: memTablesMax,
	}
	err := in.run(func() error {
		db, err := pebble.Open(s.dir, popts)
		in.db = db
		return err
	})
	if err != nil {
		in.fs.fence()
		return nil, fmt.Errorf("open store in %s: %w", s.dir, err)
	}
	go in.committer()
	go in.syncer()
	return in, nil
}

// current returns the live instance, reopening the database when the last
// one died and the disk has room.
func (s *Store) current() (*instance, error) {
	if in := s.cur.Load(); in != nil && !in.isDead() {
		return in, nil
	}
	s.instMu.Lock()
	defer s.instMu.Unlock()
	if s.shut {
		return nil, pebble.ErrClosed
	}
	if in := s.inst; in != nil {
		if !in.isDead() {
			return in, nil
		}
		in.fs.fence()
		close(in.stop)
		s.inst, s.lastFail, s.refused = nil, in.err, 0
		s.cur.Store(nil)
		s.log.Error("store failed: refusing writes until it is reopened", "dir", s.dir, "err", in.err)
	}
	s.refused++
	if s.refused%reopenEvery != 1 || !s.space.enough() {
		return nil, unavailable(s.lastFail)
	}
	in, err := s.openInstance()
	if err != nil {
		s.lastFail = err
		return nil, unavailable(err)
	}
	s.inst, s.refused = in, 0
	s.cur.Store(in)
	s.log.Warn("store reopened after a failure; writes accepted again", "dir", s.dir)
	return in, nil
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
// returns, lazy ones within LazyDelay. A durable batch that adds messages
// or queues is refused with queue.ErrStoreFull while the disk is below the
// watermark; any batch is refused with queue.ErrStoreUnavailable while the
// database is being reopened after a failure.
func (s *Store) Commit(ctx context.Context, ops []queue.Op, durable bool) error {
	if !durable {
		return s.commitLazy(ops)
	}
	in, err := s.current()
	if err != nil {
		return err
	}
	b := in.db.NewBatch()
	delta, err := encodeOps(b, ops)
	if err != nil {
		b.Close()
		return err
	}
	if adds(ops) {
		if err := s.space.allow(b.Len()); err != nil {
			b.Close()
			return err
		}
	}
	delta -= s.countRemoved(in, ops)
	// Lazy ops made before this commit apply before it: both are queued
	// in that order, then waited for without holding mu.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		b.Close()
		return pebble.ErrClosed
	}
	lazy := s.queueLazyLocked()
	job := queued{in: in, job: in.enqueue(b, true)}
	s.mu.Unlock()
	if err := s.wait(lazy); err != nil {
		return err
	}
	if err := s.wait(job); err != nil {
		return err
	}
	s.msgs.Add(delta)
	return nil
}

// queued is a batch waiting for its instance's committer.
type queued struct {
	in  *instance
	job *commitJob
}

// wait waits for q (nothing when q.job is nil).
func (s *Store) wait(q queued) error {
	if q.job == nil {
		return nil
	}
	if err := q.in.wait(q.job); err != nil {
		return s.commitFailed(q.in, err)
	}
	return nil
}

func (s *Store) commitFailed(in *instance, err error) error {
	if errors.Is(err, queue.ErrStoreUnavailable) {
		return err
	}
	in.fail(err)
	return unavailable(err)
}

// adds reports whether ops add messages or queues: what the space
// watermark refuses.
func adds(ops []queue.Op) bool {
	for _, op := range ops {
		if op.Kind == queue.OpPutMessage || op.Kind == queue.OpPutQueue {
			return true
		}
	}
	return false
}

// countRemoved counts the stored messages that ops' range deletions
// (queue deletion, purge) remove, to keep the store's message count.
func (s *Store) countRemoved(in *instance, ops []queue.Op) int64 {
	var n int64
	for _, op := range ops {
		var hi uint64
		switch op.Kind {
		case queue.OpDeleteQueue:
			hi = math.MaxUint64
		case queue.OpPurge:
			hi = op.Seq
		default:
			continue
		}
		_ = in.run(func() error {
			it, err := in.db.NewIter(&pebble.IterOptions{LowerBound: msgKey('m', op.QueueID, 0), UpperBound: msgKey('m', op.QueueID, hi)})
			if err != nil {
				return err
			}
			for it.First(); it.Valid(); it.Next() {
				n++
			}
			return it.Close()
		})
	}
	return n
}

func (s *Store) commitLazy(ops []queue.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pebble.ErrClosed
	}
	in, err := s.current()
	if err != nil {
		return err
	}
	if s.lazy != nil && s.lazyInst != in {
		// Made for an instance that died: those ops are lost, which only
		// means redelivery.
		s.lazy, s.lazyInst, s.lazyN, s.lazyDelta, s.lazyPuts = nil, nil, 0, 0, false
	}
	if s.lazy == nil {
		s.lazy, s.lazyInst = in.db.NewBatch(), in
	}
	// A batch is atomic: encode into a scratch batch first, so a bad op
	// leaves nothing half-applied in the shared one.
	b := in.db.NewBatch()
	defer b.Close()
	delta, err := encodeOps(b, ops)
	if err != nil {
		return err
	}
	if err := s.lazy.Apply(b, nil); err != nil {
		return fmt.Errorf("pebblestore: %w", err)
	}
	s.lazyN += len(ops)
	s.lazyDelta += delta
	s.lazyPuts = s.lazyPuts || adds(ops)
	if s.lazyN >= LazyOps {
		// Queued now, in order; its result is not awaited (a lazy batch
		// needs no answer), a failure shows in the next commit.
		s.queueLazyLocked()
		return nil
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(LazyDelay, func() {
			if err := s.flushLazy(); err != nil && !errors.Is(err, pebble.ErrClosed) && !errors.Is(err, queue.ErrStoreUnavailable) {
				s.log.Error("store lazy commit failed", "err", err)
			}
		})
	}
	return nil
}

// flushLazy commits the waiting lazy ops and waits for them.
func (s *Store) flushLazy() error {
	s.mu.Lock()
	q := s.queueLazyLocked()
	s.mu.Unlock()
	return s.wait(q)
}

// queueLazyLocked queues the waiting lazy ops for their instance's
// committer.
func (s *Store) queueLazyLocked() queued {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	b, in, delta := s.lazy, s.lazyInst, s.lazyDelta
	if b == nil {
		return queued{}
	}
	s.lazy, s.lazyInst, s.lazyN, s.lazyDelta, s.lazyPuts = nil, nil, 0, 0, false
	s.msgs.Add(delta) // counted when queued: the count is an estimate
	return queued{in: in, job: in.enqueue(b, false)}
}

// encodeOps adds ops to b and returns how many messages they add (puts
// less single deletes).
func encodeOps(b *pebble.Batch, ops []queue.Op) (int64, error) {
	var buf []byte
	var delta int64
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
			for _, kind := range []byte{'m', 's', 'b'} {
				if err == nil {
					err = b.DeleteRange(msgKey(kind, op.QueueID, 0), msgKey(kind, op.QueueID, math.MaxUint64), nil)
				}
				if err == nil {
					err = b.Delete(msgKey(kind, op.QueueID, math.MaxUint64), nil)
				}
			}
		case queue.OpPutMessage:
			buf = encodeHeader(buf[:0], op.Message, op.State)
			err = b.Set(msgKey('m', op.QueueID, op.Message.Seq), buf, nil)
			if err == nil {
				buf = encodeMessage(buf[:0], op.Message, queue.MessageState{})
				err = b.Set(msgKey('b', op.QueueID, op.Message.Seq), buf, nil)
			}
			delta++
		case queue.OpUpdateMessage:
			buf = encodeState(buf[:0], op.State)
			err = b.Set(msgKey('s', op.QueueID, updateSeq(op)), buf, nil)
		case queue.OpDeleteMessage:
			for _, kind := range []byte{'m', 's', 'b'} {
				if err == nil {
					err = b.Delete(msgKey(kind, op.QueueID, op.Seq), nil)
				}
			}
			delta--
		case queue.OpPurge:
			for _, kind := range []byte{'m', 's', 'b'} {
				if err == nil {
					err = b.DeleteRange(msgKey(kind, op.QueueID, 0), msgKey(kind, op.QueueID, op.Seq), nil)
				}
			}
		default:
			err = fmt.Errorf("unknown op kind %d", op.Kind)
		}
		if err != nil {
			return 0, fmt.Errorf("pebblestore: %w", err)
		}
	}
	return delta, nil
}

// updateSeq is the message an OpUpdateMessage changes: Seq, or, from
// callers that name it by its message, Message.Seq.
func updateSeq(op queue.Op) uint64 {
	if op.Seq == 0 && op.Message != nil {
		return op.Message.Seq
	}
	return op.Seq
}

// ReadMessages reads whole messages by sequence number. Lazy puts not yet
// committed are committed first, so that a message moved to a queue
// (committed lazily) can be read as soon as the move is listed.
func (s *Store) ReadMessages(ctx context.Context, queueID uint64, seqs []uint64) ([]*queue.Message, error) {
	s.mu.Lock()
	var q queued
	if s.lazyPuts {
		q = s.queueLazyLocked()
	}
	s.mu.Unlock()
	if err := s.wait(q); err != nil {
		return nil, err
	}
	in, err := s.current()
	if err != nil {
		return nil, err
	}
	out := make([]*queue.Message, len(seqs))
	key := msgKey('b', queueID, 0)
	for i, seq := range seqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint64(key[9:], seq)
		key[0] = 'b'
		m, err := s.readWhole(in, key, seq)
		if errors.Is(err, pebble.ErrNotFound) {
			// A store written before the split keeps the whole message
			// under 'm'.
			key[0] = 'm'
			m, err = s.readWhole(in, key, seq)
		}
		switch {
		case errors.Is(err, pebble.ErrNotFound):
		case err != nil && pebble.IsCorruptionError(err):
			return nil, damagedError(s.dir, []string{err.Error()})
		case err != nil:
			return nil, fmt.Errorf("pebblestore: read message %d of queue %d: %w", seq, queueID, err)
		default:
			out[i] = m
		}
	}
	return out, nil
}

// readWhole reads the whole message at key: ErrNotFound when it is absent
// or the record there is an index record only.
func (s *Store) readWhole(in *instance, key []byte, seq uint64) (*queue.Message, error) {
	v, closer, err := in.db.Get(key)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	m, _, whole, err := decodeRecord(v, seq, true)
	if err != nil {
		return nil, fmt.Errorf("message record %x: %w", key, err)
	}
	if !whole {
		return nil, pebble.ErrNotFound
	}
	return m, nil
}

// Load replays every queue, then every message with its latest state. A
// record that cannot be read (a damaged table) fails the load with an error
// wrapping ErrDamaged: the store never passes part of its data as all of it.
func (s *Store) Load(ctx context.Context, queues func(queue.QueueRecord) error, messages func(uint64, *queue.Message, queue.MessageState) error) error {
	in, err := s.current()
	if err != nil {
		return err
	}
	err = in.run(func() error { return s.load(ctx, in.db, queues, messages) })
	if err != nil && pebble.IsCorruptionError(err) {
		return damagedError(s.dir, []string{err.Error()})
	}
	return err
}

func (s *Store) load(ctx context.Context, db *pebble.DB, queues func(queue.QueueRecord) error, messages func(uint64, *queue.Message, queue.MessageState) error) error {
	err := scan(db, 'q', func(k, v []byte) error {
		var r queue.QueueRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("pebblestore: queue record %x: %w", k, err)
		}
		return queues(r)
	})
	if err != nil {
		return err
	}

	// States are few (received messages only) and small: read them first.
	type key struct{ qid, seq uint64 }
	states := map[key]queue.MessageState{}
	err = scan(db, 's', func(k, v []byte) error {
		if len(k) != 17 {
			return nil
		}
		st, err := decodeState(v)
		if err != nil {
			return fmt.Errorf("pebblestore: state %x: %w", k, err)
		}
		states[key{binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint64(k[9:])}] = st
		return nil
	})
	if err != nil {
		return err
	}

	var n int64
	var m queue.Message // reused, its strings alias the iterator's value: valid during one callback only
	err = scan(db, 'm', func(k, v []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(k) != 17 {
			return nil
		}
		n++
		qid, seq := binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint64(k[9:])
		st, _, err := decodeInto(&m, v, seq, false)
		if err != nil {
			return fmt.Errorf("pebblestore: message %x: %w", k, err)
		}
		if len(states) > 0 {
			if s2, ok := states[key{qid, seq}]; ok {
				st = s2
			}
		}
		return messages(qid, &m, st)
	})
	if err != nil {
		return err
	}
	s.msgs.Store(n)
	s.loaded.Store(true)
	return nil
}

// scan calls f with every key starting with prefix, and fails when the
// iterator does: a read error ends the scan as an error, never as the end
// of the data.
func scan(db *pebble.DB, prefix byte, f func(k, v []byte) error) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return fmt.Errorf("pebblestore: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		if err := f(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("pebblestore: reading the store: %w", err)
	}
	return nil
}

// Close commits the waiting lazy ops, flushes and closes the database, and
// records the files it leaves (see writeCleanRecord), so the next Open can
// tell damage from a crash. After a failure it returns at once: a dead
// Pebble instance is abandoned, not waited for.
func (s *Store) Close() error {
	cur, _ := s.current()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	q := s.queueLazyLocked()
	// Every batch is queued under mu, so an empty batch queued now comes
	// after all of them: once it is answered, the committer has applied
	// everything another caller queued before Close (a lazy flush whose
	// timer fired just before, a durable commit), and the database may
	// close under nobody.
	var barrier queued
	if cur != nil {
		barrier = queued{in: cur, job: cur.enqueue(cur.db.NewBatch(), false)}
	}
	s.closed = true
	s.mu.Unlock()
	err := errors.Join(s.wait(q), s.wait(barrier))

	s.instMu.Lock()
	in := s.inst
	s.inst, s.shut = nil, true
	s.cur.Store(nil)
	s.instMu.Unlock()
	defer s.lock.Close()
	if in == nil {
		return errors.Join(err, unavailable(s.lastFail))
	}
	loaded := s.loaded.Load()
	cerr := in.run(func() error {
		if loaded {
			if err := in.db.Flush(); err != nil {
				in.db.Close()
				return err
			}
		}
		return in.db.Close()
	})
	close(in.stop)
	in.fs.fence()
	switch {
	case err != nil || cerr != nil:
	case loaded:
		cerr = writeCleanRecord(s.dir, s.msgs.Load(), true)
	case s.expected >= 0:
		// Load failed (damage): keep the count for a repair to compare with.
		cerr = writeCleanRecord(s.dir, s.expected, false)
	}
	return errors.Join(err, cerr)
}
