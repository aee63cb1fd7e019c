package dashboard

import (
	"testing"
)

func TestFrame(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, data, want string }{
		{"sample", `{"a":1}`, "event: sample\ndata: {\"a\":1}\n\n"},
		{"x", "a\nb", "event: x\ndata: a\ndata: b\n\n"},
		{"x", "a\r\nb\n", "event: x\ndata: a\ndata: b\ndata: \n\n"},
		{"x", "", "event: x\ndata: \n\n"},
	} {
		if got := string(frame(tc.name, []byte(tc.data))); got != tc.want {
			t.Errorf("frame(%q, %q) = %q, want %q", tc.name, tc.data, got, tc.want)
		}
	}
}

func TestHubDropsSlowStreams(t *testing.T) {
	t.Parallel()
	h := newHub()
	slow, fast := h.subscribe(), h.subscribe()
	for i := range subscriberBuffer + 1 {
		h.publish([]byte{byte(i)})
		<-fast.ch
	}
	n := 0
	for range slow.ch {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("slow stream got %d events before it was closed, want %d", n, subscriberBuffer)
	}
	if h.count() != 1 {
		t.Errorf("hub holds %d streams, want 1 (the fast one)", h.count())
	}
	h.unsubscribe(slow) // already gone: no double close
	h.close()
	if _, ok := <-fast.ch; ok {
		t.Error("close left a stream open")
	}
	if h.subscribe() != nil {
		t.Error("subscribe after close succeeded")
	}
}
