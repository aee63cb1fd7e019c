package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
)

// frame builds one server-sent event: "event: NAME" and the data, one
// "data:" line per line of it, ended by a blank line.
func frame(name string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(name) + len(data) + 24)
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteByte('\n')
	for {
		line, rest, found := bytes.Cut(data, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
		if !found {
			break
		}
		data = rest
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only types of this package and package autoscale are marshalled;
		// none can fail.
		panic("dashboard: " + err.Error())
	}
	return b
}

// hub fans events out to the open event streams.
type hub struct {
	mu     sync.Mutex // guards subs, closed
	subs   map[*subscriber]struct{}
	closed bool
}

// subscriber is one event stream. ch is closed when the stream must end:
// the dashboard stopped, or the stream fell subscriberBuffer events behind.
type subscriber struct {
	ch chan []byte
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

// subscribe adds a stream; nil when the hub is closed.
func (h *hub) subscribe() *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	s := &subscriber{ch: make(chan []byte, subscriberBuffer)}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// publish queues ev for every stream without blocking; a stream whose
// buffer is full is dropped.
func (h *hub) publish(ev []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- ev:
		default:
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// serveEvents streams server-sent events: "history" (the whole history),
// the last "sample", recent decisions as "decision" events, then live
// events until the client goes or the dashboard stops.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// Decisions not yet in the log go in before this stream subscribes,
	// so that they reach it in the snapshot, not as a burst of events.
	d.syncDecisions()
	sub := d.hub.subscribe()
	if sub == nil {
		http.Error(w, "dashboard stopped", http.StatusServiceUnavailable)
		return
	}
	defer d.hub.unsubscribe(sub)
	// Subscribed before the snapshot: an event may come twice, never be
	// missed; the page ignores points it already has.
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var b []byte
	b = append(b, "retry: 2000\n\n"...)
	b = append(b, frame("history", d.hist.appendJSON(nil))...)
	d.lastMu.Lock()
	last := d.last
	d.lastMu.Unlock()
	if last != nil {
		b = append(b, frame("sample", last)...)
	}
	for _, dec := range d.log.Last(decisionsOnConnect) {
		b = append(b, frame("decision", mustJSON(dec))...)
	}
	if _, err := w.Write(b); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	for {
		t := d.o.Clock.NewTimer(keepAlive)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case ev, ok := <-sub.ch:
			t.Stop()
			if !ok {
				return
			}
			if _, err := w.Write(ev); err != nil {
				return
			}
		case <-t.C():
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
