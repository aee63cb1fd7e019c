package queue

import "sync"

// DefaultBodyCacheBytes bounds the body cache unless Options say otherwise.
const DefaultBodyCacheBytes = 64 << 20

// bodyCache keeps the most recently sent or read messages (bodies and
// attributes) so that a receive soon after a send, the common case of a
// short backlog, reads no store. It is bounded by bytes and evicts the
// least recently used message. A nil *bodyCache caches nothing.
//
// Lock order: Queue.mu, then bodyCache.mu.
type bodyCache struct {
	mu    sync.Mutex // guards every field below
	max   int64
	bytes int64
	items map[cacheKey]*cacheItem
	head  cacheItem // sentinel: head.next is the most recent, head.prev the least
}

type cacheKey struct{ qid, seq uint64 }

type cacheItem struct {
	key        cacheKey
	m          *Message
	size       int64
	prev, next *cacheItem
}

func newBodyCache(max int64) *bodyCache {
	if max <= 0 {
		return nil
	}
	c := &bodyCache{max: max, items: map[cacheKey]*cacheItem{}}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// cost is what a cached message counts against the bound: its variable
// parts plus a fixed overhead for the item, the map slot and the struct.
func cost(m *Message) int64 {
	n := len(m.Body) + len(m.ID) + len(m.BodyMD5) + len(m.AttributesMD5) + len(m.SystemMD5) +
		len(m.GroupID) + len(m.DedupID) + len(m.SequenceNumber) + len(m.SenderID) + len(m.DeadLetterSource)
	n += messageSize("", m.Attributes) + messageSize("", m.SystemAttributes)
	return int64(n) + 400
}

func (c *bodyCache) unlinkLocked(it *cacheItem) {
	it.prev.next = it.next
	it.next.prev = it.prev
}

func (c *bodyCache) pushFrontLocked(it *cacheItem) {
	it.prev, it.next = &c.head, c.head.next
	c.head.next.prev = it
	c.head.next = it
}

// put caches m, the message seq of queue qid.
func (c *bodyCache) put(qid uint64, m *Message) {
	if c == nil {
		return
	}
	k := cacheKey{qid, m.Seq}
	size := cost(m)
	if size > c.max/2 {
		return // one message must not flush the cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[k]; ok {
		c.unlinkLocked(it)
		c.pushFrontLocked(it)
		return
	}
	it := &cacheItem{key: k, m: m, size: size}
	c.items[k] = it
	c.pushFrontLocked(it)
	c.bytes += size
	for c.bytes > c.max {
		old := c.head.prev
		c.unlinkLocked(old)
		delete(c.items, old.key)
		c.bytes -= old.size
	}
}

// get returns the cached message seq of queue qid, or nil.
func (c *bodyCache) get(qid, seq uint64) *Message {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[cacheKey{qid, seq}]
	if !ok {
		return nil
	}
	c.unlinkLocked(it)
	c.pushFrontLocked(it)
	return it.m
}

// drop forgets the message seq of queue qid.
func (c *bodyCache) drop(qid, seq uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[cacheKey{qid, seq}]; ok {
		c.unlinkLocked(it)
		delete(c.items, it.key)
		c.bytes -= it.size
	}
}

// dropQueue forgets every message of queue qid with a sequence below
// below (all of them for ^uint64(0)).
func (c *bodyCache) dropQueue(qid, below uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, it := range c.items {
		if k.qid == qid && k.seq < below {
			c.unlinkLocked(it)
			delete(c.items, k)
			c.bytes -= it.size
		}
	}
}

// len returns how many messages are cached.
func (c *bodyCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
