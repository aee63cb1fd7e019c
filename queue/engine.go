// Package queue is qscale's queue engine: SQS semantics (standard and FIFO
// queues, visibility timeouts, delays, long polling, dead-letter queues,
// retention, purge, message-move tasks) over a Store that makes it durable.
// It knows nothing of HTTP or wire formats; package sqsapi puts it on the wire.
//
// Lock order: Engine.mu, then Queue.mu. A goroutine holds at most one
// Queue.mu at a time; moves between queues lock them one after the other.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// Options configure an Engine.
type Options struct {
	Region    string // used in ARNs; default DefaultRegion
	AccountID string // used in ARNs; default "000000000000"
	Store     Store  // default MemoryStore
	Clock     clock.Clock
	Logger    *slog.Logger
	// DeletedQueueCooldown is how long a deleted queue's name stays
	// reserved, as in SQS (60 s). Negative disables it.
	DeletedQueueCooldown time.Duration
	// SweepInterval is how often expired messages are dropped (default 1 min).
	SweepInterval time.Duration
	// BodyCacheBytes bounds the cache of recently sent and received
	// message bodies kept in front of a durable store (default
	// DefaultBodyCacheBytes; negative: none). A MemoryStore has none: it
	// holds every body already.
	BodyCacheBytes int64
}

// Engine holds every queue.
type Engine struct {
	clk      clock.Clock
	store    Store
	log      *slog.Logger
	region   string
	account  string
	cooldown time.Duration
	sweepInt time.Duration
	cache    *bodyCache // nil: none (MemoryStore)

	mu        sync.RWMutex // guards queues, byARN, recently, nextID, tasks
	queues    map[string]*Queue
	byARN     map[string]*Queue
	recently  map[string]time.Time // deleted queue names -> deletion time
	nextID    uint64
	tasks     map[string]*MoveTask
	taskOrder []*MoveTask

	startOnce   sync.Once
	stopOnce    sync.Once
	quiesceOnce sync.Once
	stopping    chan struct{}
	wg          sync.WaitGroup
}

// Open loads the engine's state from opts.Store.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	e := &Engine{
		clk:      opts.Clock,
		store:    opts.Store,
		log:      opts.Logger,
		region:   opts.Region,
		account:  opts.AccountID,
		cooldown: opts.DeletedQueueCooldown,
		sweepInt: opts.SweepInterval,
		queues:   map[string]*Queue{},
		byARN:    map[string]*Queue{},
		recently: map[string]time.Time{},
		tasks:    map[string]*MoveTask{},
		stopping: make(chan struct{}),
	}
	if e.clk == nil {
		e.clk = clock.Real{}
	}
	memory := false
	switch st := e.store.(type) {
	case nil:
		e.store, memory = NewMemoryStore(), true
	case MemoryStore:
		if st.d == nil { // the zero MemoryStore: give it room for bodies
			e.store = NewMemoryStore()
		}
		memory = true
	}
	if !memory {
		size := opts.BodyCacheBytes
		if size == 0 {
			size = DefaultBodyCacheBytes
		}
		e.cache = newBodyCache(size)
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.region == "" {
		e.region = DefaultRegion
	}
	if e.account == "" {
		e.account = "000000000000"
	}
	if e.cooldown == 0 {
		e.cooldown = DeletedQueueCooldown
	}
	if e.sweepInt <= 0 {
		e.sweepInt = time.Minute
	}
	byID := map[uint64]*Queue{}
	now := e.clk.Now()
	loaded := map[*Queue]*[]*entry{} // standard queues' entries, listed after the load
	var slab entrySlab
	var lastQ *Queue // messages come queue by queue: skip the lookups
	var lastList *[]*entry
	err := e.store.Load(ctx, func(r QueueRecord) error {
		q := e.newQueue(r)
		e.queues[q.name] = q
		e.byARN[q.arn] = q
		byID[q.id] = q
		if r.ID > e.nextID {
			e.nextID = r.ID
		}
		return nil
	}, func(qid uint64, m *Message, st MessageState) error {
		q := lastQ
		if q == nil || q.id != qid {
			if q = byID[qid]; q == nil {
				return nil // a message of a deleted queue
			}
			lastQ, lastList = q, loaded[q]
			if lastList == nil && !q.cfg.Fifo {
				lastList = new([]*entry)
				loaded[q] = lastList
			}
		}
		if m.Seq > q.nextSeq {
			q.nextSeq = m.Seq
		}
		ent := slab.next()
		fillEntry(ent, m, st)
		if !q.cfg.Fifo {
			*lastList = append(*lastList, ent)
			return nil
		}
		q.insertLocked(ent, m.GroupID, nanos(now))
		if q.cfg.Fifo && m.DedupID != "" && now.Sub(m.SentAt) < DedupWindow {
			// m's strings are the store's until the callback returns.
			key := strings.Clone(m.DedupID)
			if q.cfg.DeduplicationScope == "messageGroup" {
				key = m.GroupID + "\x00" + m.DedupID
			}
			q.dedup[key] = dedupEntry{id: strings.Clone(m.ID), seqNum: strings.Clone(m.SequenceNumber), at: m.SentAt}
			q.dedupOrder = append(q.dedupOrder, dedupKeyAt{key, m.SentAt})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load queues: %w", err)
	}
	for q, ents := range loaded {
		q.insertLoadedLocked(*ents, nanos(now))
		delete(loaded, q)
	}
	for _, q := range e.queues {
		sort.Slice(q.dedupOrder, func(i, j int) bool { return q.dedupOrder[i].at.Before(q.dedupOrder[j].at) })
		// Sequence numbers must keep growing across restarts even when every
		// message was deleted: start from the clock as well as the data.
		if ns := uint64(now.UnixNano()); ns > q.nextSeq {
			q.nextSeq = ns
		}
	}
	return e, nil
}

func (e *Engine) newQueue(r QueueRecord) *Queue {
	q := &Queue{
		e:          e,
		id:         r.ID,
		name:       r.Name,
		arn:        e.ARN(r.Name),
		cfg:        r.Config,
		tags:       r.Tags,
		createdAt:  r.CreatedAt,
		modifiedAt: r.ModifiedAt,
		bySeq:      map[uint64]*entry{},
		groups:     map[string]*group{},
		dedup:      map[string]dedupEntry{},
	}
	if q.tags == nil {
		q.tags = map[string]string{}
	}
	q.nextSeq = uint64(e.clk.Now().UnixNano())
	return q
}

// Start runs the engine's background work (retention sweeps) until Stop.
func (e *Engine) Start(ctx context.Context) error {
	e.startOnce.Do(func() {
		e.wg.Add(1)
		go e.sweepLoop()
	})
	return nil
}

// Stop ends background work, wakes every long poll, waits for move tasks and
// closes the store. It is idempotent.
func (e *Engine) Stop(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() {
		e.Quiesce()
		done := make(chan struct{})
		go func() { e.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if cerr := e.store.Close(); cerr != nil && err == nil {
			err = cerr
		}
	})
	return err
}

// Quiesce answers every waiting long poll at once, empty, and makes new
// ones return without waiting: the first step of a shutdown, before the
// HTTP server drains its requests. The store stays open until Stop.
func (e *Engine) Quiesce() {
	e.quiesceOnce.Do(func() {
		close(e.stopping)
		e.mu.RLock()
		for _, q := range e.queues {
			q.mu.Lock()
			q.wakeAllLocked()
			q.mu.Unlock()
		}
		e.mu.RUnlock()
	})
}

func (e *Engine) logStoreError(err error) {
	if errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrStoreFull) {
		return // the store logged the outage once; each lost lazy op is a redelivery
	}
	e.log.Error("store commit failed", "err", err)
}

// Clock returns the engine's clock.
func (e *Engine) Clock() clock.Clock { return e.clk }

// ARN returns the ARN of the queue called name.
func (e *Engine) ARN(name string) string {
	return "arn:aws:sqs:" + e.region + ":" + e.account + ":" + name
}

// AccountID returns the account id in the engine's ARNs.
func (e *Engine) AccountID() string { return e.account }

// Region returns the region in the engine's ARNs.
func (e *Engine) Region() string { return e.region }

// ValidQueueName reports whether name is a valid SQS queue name.
func ValidQueueName(name string) bool {
	base := strings.TrimSuffix(name, ".fifo")
	if name == "" || len(name) > MaxQueueNameLen || base == "" {
		return false
	}
	for _, r := range base {
		if !(r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// CreateQueue creates a queue, or returns the existing one when it has the
// same attributes, as SQS does.
func (e *Engine) CreateQueue(ctx context.Context, name string, attrs map[string]string, tags map[string]string) (*Queue, error) {
	if !ValidQueueName(name) {
		return nil, errorf(ErrInvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	fifo := strings.EqualFold(attrs[AttrFifoQueue], "true")
	if fifo != strings.HasSuffix(name, ".fifo") {
		if fifo {
			return nil, errorf(ErrInvalidParameterValue, "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		if _, set := attrs[AttrFifoQueue]; set {
			return nil, errorf(ErrInvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
		}
		return nil, errorf(ErrInvalidParameterValue, "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
	}
	if err := validateTags(tags, 0); err != nil {
		return nil, err
	}
	cfg := DefaultConfig(fifo)
	if err := cfg.apply(attrs, true, e.ARN(name), e.lookupARN); err != nil {
		return nil, err
	}
	now := e.clk.Now()

	e.mu.Lock()
	if q, ok := e.queues[name]; ok {
		e.mu.Unlock()
		q.mu.Lock()
		defer q.mu.Unlock()
		current := q.cfg.render()
		for k, v := range cfg.render() {
			if _, given := attrs[k]; given && current[k] != v {
				return nil, errorf(ErrQueueNameExists, "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return q, nil
	}
	if at, ok := e.recently[name]; ok && e.cooldown > 0 && now.Sub(at) < e.cooldown {
		e.mu.Unlock()
		return nil, errorf(ErrQueueDeletedRecently, "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	}
	e.nextID++
	rec := QueueRecord{ID: e.nextID, Name: name, Config: cfg, Tags: copyTags(tags), CreatedAt: now, ModifiedAt: now}
	e.mu.Unlock()

	// Durable before the answer. Concurrent creates of one name both reach
	// here; the second insert below loses and returns the first queue.
	if err := e.store.Commit(ctx, []Op{{Kind: OpPutQueue, QueueID: rec.ID, Queue: &rec}}, true); err != nil {
		return nil, storeError("store queue", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if q, ok := e.queues[name]; ok {
		return q, nil
	}
	q := e.newQueue(rec)
	e.queues[name] = q
	e.byARN[q.arn] = q
	delete(e.recently, name)
	return q, nil
}

func copyTags(t map[string]string) map[string]string {
	m := make(map[string]string, len(t))
	for k, v := range t {
		m[k] = v
	}
	return m
}

func validateTags(tags map[string]string, existing int) *Error {
	if len(tags)+existing > MaxTagsPerQueue {
		return errorf(ErrInvalidParameterValue, "Too many tags added for queue (the limit is %d).", MaxTagsPerQueue)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return errorf(ErrInvalidParameterValue, "Tag keys must be between 1 and 128 characters in length.")
		}
		if len(v) > 256 {
			return errorf(ErrInvalidParameterValue, "Tag values must be between 0 and 256 characters in length.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errorf(ErrInvalidParameterValue, "Tag keys must not start with aws:")
		}
	}
	return nil
}

func (e *Engine) lookupARN(arn string) (deadLetterTarget, bool) {
	q, ok := e.queueByARN(arn)
	if !ok {
		return deadLetterTarget{}, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return deadLetterTarget{fifo: q.cfg.Fifo, allow: q.cfg.RedriveAllowPolicy}, true
}

func (e *Engine) queueByARN(arn string) (*Queue, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	q, ok := e.byARN[arn]
	return q, ok
}

// QueueByARN returns the queue with that ARN.
func (e *Engine) QueueByARN(arn string) (*Queue, error) {
	if q, ok := e.queueByARN(arn); ok {
		return q, nil
	}
	return nil, queueDoesNotExist()
}

// Queue returns the queue called name.
func (e *Engine) Queue(name string) (*Queue, error) {
	e.mu.RLock()
	q, ok := e.queues[name]
	e.mu.RUnlock()
	if !ok {
		return nil, queueDoesNotExist()
	}
	return q, nil
}

// Queues returns every queue, sorted by name.
func (e *Engine) Queues() []*Queue {
	e.mu.RLock()
	qs := make([]*Queue, 0, len(e.queues))
	for _, q := range e.queues {
		qs = append(qs, q)
	}
	e.mu.RUnlock()
	sort.Slice(qs, func(i, j int) bool { return qs[i].name < qs[j].name })
	return qs
}

// ListQueues returns the names starting with prefix, sorted, at most max
// (1..1000) after the name token, and the token for the next page ("" when
// there is none).
func (e *Engine) ListQueues(prefix string, max int, token string) ([]*Queue, string, error) {
	if max != 0 { // 0: not paged
		if err := ListQueuesResultsRange.Check(int64(max)); err != nil {
			return nil, "", err
		}
	}
	paged := max > 0
	var out []*Queue
	for _, q := range e.Queues() {
		if !strings.HasPrefix(q.name, prefix) || (token != "" && q.name <= token) {
			continue
		}
		if paged && len(out) == max {
			return out, out[len(out)-1].name, nil
		}
		out = append(out, q)
		if !paged && len(out) == DefaultListQueuesResult {
			break
		}
	}
	return out, "", nil
}

// DeleteQueue deletes a queue and its messages.
func (e *Engine) DeleteQueue(ctx context.Context, name string) error {
	e.mu.Lock()
	q, ok := e.queues[name]
	if !ok {
		e.mu.Unlock()
		return queueDoesNotExist()
	}
	delete(e.queues, name)
	delete(e.byARN, q.arn)
	e.recently[name] = e.clk.Now()
	e.mu.Unlock()
	q.mu.Lock()
	q.deleted = true
	q.wakeAllLocked()
	q.mu.Unlock()
	e.cache.dropQueue(q.id, ^uint64(0))
	if err := e.store.Commit(ctx, []Op{{Kind: OpDeleteQueue, QueueID: q.id}}, true); err != nil {
		return storeError("store queue deletion", err)
	}
	return nil
}

// SetAttributes changes a queue's attributes.
func (q *Queue) SetAttributes(ctx context.Context, attrs map[string]string) error {
	if len(attrs) == 0 {
		return nil
	}
	q.mu.Lock()
	cfg := q.cfg
	q.mu.Unlock()
	if err := cfg.apply(attrs, false, q.arn, q.e.lookupARN); err != nil {
		return err
	}
	if cfg.Redrive != nil && cfg.Redrive.DeadLetterTargetArn == q.arn {
		return invalidParam(AttrRedrivePolicy, attrs[AttrRedrivePolicy], "Dead letter target cannot be the same as the source queue")
	}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return queueDoesNotExist()
	}
	q.cfg = cfg
	q.modifiedAt = q.e.clk.Now()
	rec := q.recordLocked()
	q.mu.Unlock()
	return storeError("store queue", q.e.store.Commit(ctx, []Op{{Kind: OpPutQueue, QueueID: q.id, Queue: &rec}}, true))
}

func (q *Queue) recordLocked() QueueRecord {
	return QueueRecord{ID: q.id, Name: q.name, Config: q.cfg, Tags: copyTags(q.tags), CreatedAt: q.createdAt, ModifiedAt: q.modifiedAt}
}

// Attributes returns the named attributes ("All" for all). Unknown names
// are an InvalidAttributeName error, as in SQS.
func (q *Queue) Attributes(names []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		if n == "All" {
			for _, a := range AllAttributeNames {
				want[a] = true
			}
			continue
		}
		if !isKnownAttribute(n) && n != AttrAgeOfOldestMessage {
			return nil, errorf(ErrInvalidAttributeName, "Unknown Attribute %s.", n)
		}
		want[n] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.e.clk.Now()
	q.promoteLocked(now)
	all := q.cfg.render()
	c := q.countsLocked()
	all[AttrApproximateNumberOfMessages] = fmt.Sprint(c.Visible)
	all[AttrApproximateNumberOfMessagesNotVisible] = fmt.Sprint(c.Inflight)
	all[AttrApproximateNumberOfMessagesDelayed] = fmt.Sprint(c.Delayed)
	all[AttrCreatedTimestamp] = fmt.Sprint(q.createdAt.Unix())
	all[AttrLastModifiedTimestamp] = fmt.Sprint(q.modifiedAt.Unix())
	all[AttrQueueArn] = q.arn
	if want[AttrAgeOfOldestMessage] {
		age := time.Duration(0)
		if m := q.oldestLocked(); m != nil {
			age = max(now.Sub(fromNanos(m.sentAt)), 0)
		}
		all[AttrAgeOfOldestMessage] = strconv.FormatFloat(age.Seconds(), 'f', 3, 64)
	}
	out := map[string]string{}
	for n := range want {
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

// Config returns a copy of the queue's configuration.
func (q *Queue) Config() Config {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cfg
}

// Tags returns a copy of the queue's tags.
func (q *Queue) Tags() map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return copyTags(q.tags)
}

// Tag adds or replaces tags.
func (q *Queue) Tag(ctx context.Context, tags map[string]string) error {
	q.mu.Lock()
	added := 0
	for k := range tags {
		if _, ok := q.tags[k]; !ok {
			added++
		}
	}
	if err := validateTags(tags, len(q.tags)+added-len(tags)); err != nil {
		q.mu.Unlock()
		return err
	}
	for k, v := range tags {
		q.tags[k] = v
	}
	rec := q.recordLocked()
	q.mu.Unlock()
	return storeError("store queue", q.e.store.Commit(ctx, []Op{{Kind: OpPutQueue, QueueID: q.id, Queue: &rec}}, true))
}

// Untag removes tags.
func (q *Queue) Untag(ctx context.Context, keys []string) error {
	q.mu.Lock()
	for _, k := range keys {
		delete(q.tags, k)
	}
	rec := q.recordLocked()
	q.mu.Unlock()
	return storeError("store queue", q.e.store.Commit(ctx, []Op{{Kind: OpPutQueue, QueueID: q.id, Queue: &rec}}, true))
}

// Purge deletes every message in the queue. SQS allows one purge a minute.
func (q *Queue) Purge(ctx context.Context) error {
	now := q.e.clk.Now()
	q.mu.Lock()
	if !q.lastPurge.IsZero() && now.Sub(q.lastPurge) < PurgeInterval {
		q.mu.Unlock()
		return errorf(ErrPurgeQueueInProgress, "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.name)
	}
	q.lastPurge = now
	q.purgedBelow = q.nextSeqLocked()
	q.forEachLocked(func(m *entry) {
		m.markDeleted()
	})
	q.forEachLocked(func(m *entry) { // positions cleared once every one is found
		m.heapIndex = -1
		if m.x != nil {
			m.x.agePos, m.x.expPos = 0, 0
		}
	})
	q.numLive = 0
	clear(q.bySeq)
	clear(q.timing)
	q.timing = q.timing[:0]
	clear(q.age)
	q.age = q.age[:0]
	clear(q.expiry)
	q.expiry = q.expiry[:0]
	q.ready = deque{}
	q.fresh = freshList{}
	clear(q.groups)
	q.groupOrder = nil
	q.numInflight, q.numDelayed = 0, 0
	seq := q.purgedBelow
	q.mu.Unlock()
	q.e.cache.dropQueue(q.id, seq)
	return storeError("store purge", q.e.store.Commit(ctx, []Op{{Kind: OpPurge, QueueID: q.id, Seq: seq}}, true))
}

// DeadLetterSources lists the queues whose redrive policy names q.
func (e *Engine) DeadLetterSources(q *Queue) []*Queue {
	var out []*Queue
	for _, s := range e.Queues() {
		if rp := s.Config().Redrive; rp != nil && rp.DeadLetterTargetArn == q.arn {
			out = append(out, s)
		}
	}
	return out
}

// moveToDeadLetter moves messages that exceeded src's maxReceiveCount.
func (e *Engine) moveToDeadLetter(ctx context.Context, src *Queue, ents []*entry) {
	rp := src.Config().Redrive
	var dlq *Queue
	if rp != nil {
		dlq, _ = e.queueByARN(rp.DeadLetterTargetArn)
	}
	var msgs []*Message
	var err error
	if dlq != nil {
		msgs, err = src.loadEntries(ctx, ents)
	}
	if dlq == nil || err != nil {
		// The dead-letter queue vanished between the receive and now, or
		// the store could not be read: the messages are deleted in memory
		// only, so put them back.
		if err != nil {
			e.log.Error("move to dead-letter queue failed", "queue", src.name, "err", err)
		}
		src.putBack(ents)
		return
	}
	if err := e.transfer(ctx, src, dlq, ents, msgs, src.arn, false); err != nil {
		if !errors.Is(err, context.Canceled) {
			e.log.Error("move to dead-letter queue failed", "queue", src.name, "dlq", dlq.name, "err", err)
		}
		src.putBack(ents)
		return
	}
	src.mu.Lock()
	src.stats.Moved += uint64(len(ents))
	src.mu.Unlock()
}

// loadEntries reads the whole messages of ents, removed from q's memory
// but still in its store. A message the store lost (a purge came between)
// is nil.
func (q *Queue) loadEntries(ctx context.Context, ents []*entry) ([]*Message, error) {
	seqs := make([]uint64, len(ents))
	for i, m := range ents {
		seqs[i] = m.seq
	}
	return q.loadMessages(ctx, seqs)
}

// transfer adds copies of msgs (whole messages of ents, already removed
// from src's memory) to dst and records both sides in one store batch,
// then lists the copies in dst. Standard queues keep the original enqueue
// time, FIFO queues reset it, as SQS does.
func (e *Engine) transfer(ctx context.Context, src, dst *Queue, ents []*entry, msgs []*Message, sourceARN string, resetReceives bool) error {
	now := e.clk.Now()
	ops := make([]Op, 0, 2*len(msgs))
	moved := make([]*Message, 0, len(msgs))
	dst.mu.Lock()
	if dst.deleted {
		dst.mu.Unlock()
		return queueDoesNotExist()
	}
	for i, m := range msgs {
		if m == nil {
			continue // gone from the store: nothing to move
		}
		c := &Message{
			ID: m.ID, Body: m.Body, BodyMD5: m.BodyMD5,
			Attributes: m.Attributes, AttributesMD5: m.AttributesMD5,
			SystemAttributes: m.SystemAttributes, SystemMD5: m.SystemMD5,
			SentAt: m.SentAt, OriginalEnqueueAt: m.OriginalEnqueueAt,
			GroupID: m.GroupID, DedupID: m.DedupID, SequenceNumber: m.SequenceNumber,
			SenderID: m.SenderID, DeadLetterSource: sourceARN,
		}
		var st MessageState
		if !resetReceives {
			st.ReceiveCount = ents[i].receives()
			st.FirstReceiveAt = fromNanos(ents[i].firstReceive())
		}
		if dst.cfg.Fifo {
			c.OriginalEnqueueAt = now
		}
		st.VisibleAt = now
		c.Seq = dst.nextSeqLocked()
		if dst.cfg.Fifo {
			c.SequenceNumber = fmt.Sprintf("%020d", c.Seq)
		}
		moved = append(moved, c)
		ops = append(ops, Op{Kind: OpPutMessage, QueueID: dst.id, Message: c, State: st})
	}
	dst.mu.Unlock()
	for _, m := range ents {
		ops = append(ops, Op{Kind: OpDeleteMessage, QueueID: src.id, Seq: m.seq})
	}
	// Stored before they are listed, so a receive on dst finds their
	// bodies; a crash before the (lazy) commit leaves them in src.
	if err := e.store.Commit(ctx, ops, false); err != nil {
		return err // the caller puts ents back in src
	}
	for _, c := range moved {
		e.cache.put(dst.id, c)
	}
	dst.mu.Lock()
	if !dst.deleted {
		for i, c := range moved {
			if c.Seq < dst.purgedBelow {
				continue
			}
			dst.insertLocked(newEntry(c, ops[i].State), c.GroupID, nanos(now))
		}
		dst.stats.Sent += uint64(len(moved))
		dst.wakeLocked(len(moved))
	}
	dst.mu.Unlock()
	return nil
}

// isStopping reports whether Quiesce was called.
func (e *Engine) isStopping() bool {
	select {
	case <-e.stopping:
		return true
	default:
		return false
	}
}
