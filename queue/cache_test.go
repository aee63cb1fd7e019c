package queue

import (
	"strings"
	"testing"
)

func TestBodyCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	m := func(seq uint64) *Message { return &Message{Seq: seq, Body: strings.Repeat("x", 600)} }
	c := newBodyCache(3 * cost(m(0))) // room for three
	for seq := uint64(1); seq <= 3; seq++ {
		c.put(1, m(seq))
	}
	if c.get(1, 1) == nil { // 1 is now the most recent; 2 the least
		t.Fatal("message 1 not cached")
	}
	c.put(1, m(4))
	if c.get(1, 2) != nil {
		t.Error("message 2, the least recently used, was kept over the bound")
	}
	for _, seq := range []uint64{1, 3, 4} {
		if c.get(1, seq) == nil {
			t.Errorf("message %d evicted", seq)
		}
	}
	if c.get(2, 1) != nil {
		t.Error("queue 2 sees queue 1's message")
	}
	c.drop(1, 3)
	if c.get(1, 3) != nil || c.len() != 2 {
		t.Errorf("after drop: %d cached", c.len())
	}
	c.put(2, m(1))
	c.dropQueue(1, 4) // purge below 4
	if c.get(1, 1) != nil || c.get(1, 4) == nil || c.get(2, 1) == nil {
		t.Error("dropQueue removed the wrong messages")
	}
	if c.bytes != 2*cost(m(0)) {
		t.Errorf("accounted %d bytes, want %d", c.bytes, 2*cost(m(0)))
	}
	var none *bodyCache // no cache: every call is a no-op
	none.put(1, m(1))
	if none.get(1, 1) != nil || none.len() != 0 {
		t.Error("a nil cache cached")
	}
}
