package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

func queueSend(body string) queue.SendInput { return queue.SendInput{Body: body} }

// sseEvent is one server-sent event as a browser's EventSource sees it, or a
// comment (Name ":").
type sseEvent struct {
	Name, Data, Retry string
}

// readEvent reads up to the next blank line, checking the framing.
func readEvent(t *testing.T, r *bufio.Reader) (sseEvent, error) {
	t.Helper()
	var ev sseEvent
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			ev.Data = strings.Join(data, "\n")
			return ev, nil
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			ev.Name = ":"
		case "event":
			ev.Name = value
		case "data":
			data = append(data, value)
		case "retry":
			ev.Retry = value
		default:
			t.Fatalf("unknown field in line %q", line)
		}
	}
}

func expectEvent(t *testing.T, r *bufio.Reader, name string, v any) sseEvent {
	t.Helper()
	ev, err := readEvent(t, r)
	if err != nil {
		t.Fatalf("reading event %q: %v", name, err)
	}
	if ev.Name != name {
		t.Fatalf("event %q (%.200s), want %q", ev.Name, ev.Data, name)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(ev.Data), v); err != nil {
			t.Fatalf("event %q data: %v\n%.300s", name, err, ev.Data)
		}
	}
	return ev
}

func openEvents(t *testing.T, s *system) (*http.Response, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", s.srv.URL+"/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp, bufio.NewReader(resp.Body)
}

type sampleEvent struct {
	Point struct {
		T int64               `json:"t"`
		V map[string]*float64 `json:"v"`
	} `json:"point"`
	Queue   string                  `json:"queue"`
	Queues  []dashboard.QueueSample `json:"queues"`
	Fleet   struct{ Desired, Running, Starting int }
	Workers []dashboard.WorkerInfo `json:"workers"`
}

type decisionEvent struct {
	Seq      uint64
	From, To int
	Rule     string
	Reason   string
}

func val(t *testing.T, v map[string]*float64, name string) float64 {
	t.Helper()
	p, ok := v[name]
	if !ok || p == nil {
		t.Fatalf("%s is missing or null in %v", name, v)
	}
	return *p
}

func TestEventStream(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	clk := s.clk.(*clock.Fake)
	ctx := context.Background()
	for _, b := range []string{"a", "b"} {
		if _, err := s.jobs.Send(ctx, queueSend(b)); err != nil {
			t.Fatal(err)
		}
	}
	s.ctl.Tick(ctx) // 0 -> 1 worker: wake from zero
	s.dash.SampleNow(ctx)
	t0 := clk.Now().Unix()

	_, r := openEvents(t, s)
	if ev, err := readEvent(t, r); err != nil || ev.Retry != "2000" {
		t.Fatalf("first event %+v, %v; want retry: 2000", ev, err)
	}
	var hist struct {
		Fine struct {
			T []int64
			V map[string][]*float64
		}
	}
	expectEvent(t, r, "history", &hist)
	if len(hist.Fine.T) != 1 || hist.Fine.T[0] != t0 || *hist.Fine.V["visible"][0] != 2 {
		t.Fatalf("history fine = %v %v, want one point at %d with 2 visible", hist.Fine.T, hist.Fine.V["visible"], t0)
	}
	var smp sampleEvent
	expectEvent(t, r, "sample", &smp)
	if smp.Point.T != t0 || smp.Queue != "jobs" || len(smp.Queues) != 2 {
		t.Fatalf("last sample = %+v", smp)
	}
	if smp.Point.V["sent"] != nil {
		t.Errorf("first sample has a rate %v; want null (no earlier sample)", *smp.Point.V["sent"])
	}
	var dec decisionEvent
	expectEvent(t, r, "decision", &dec)
	if dec.Seq != 1 || dec.From != 0 || dec.To != 1 || dec.Reason == "" {
		t.Fatalf("decision = %+v, want seq 1, 0 -> 1", dec)
	}

	// One second later: a third message; the sample carries the rate and
	// the new decision follows it.
	clk.Advance(time.Second)
	if _, err := s.jobs.Send(ctx, queueSend("c")); err != nil {
		t.Fatal(err)
	}
	s.ctl.Tick(ctx)
	s.dash.SampleNow(ctx)
	expectEvent(t, r, "sample", &smp)
	if smp.Point.T != t0+1 || val(t, smp.Point.V, "visible") != 3 || val(t, smp.Point.V, "sent") != 1 || val(t, smp.Point.V, "deleted") != 0 {
		t.Fatalf("sample = %+v", smp.Point)
	}
	if val(t, smp.Point.V, "desired") != 1 || val(t, smp.Point.V, "starting") != 1 || val(t, smp.Point.V, "target") != 5 {
		t.Errorf("fleet and target in %v", smp.Point.V)
	}
	if len(smp.Workers) != 1 || smp.Workers[0].State != "starting" {
		t.Errorf("workers = %+v", smp.Workers)
	}
	expectEvent(t, r, "decision", &dec)
	if dec.Seq != 2 {
		t.Fatalf("decision seq %d, want 2", dec.Seq)
	}

	// Stop ends every stream, and no new one opens.
	s.dash.Stop(t.Context())
	if _, err := readEvent(t, r); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("after Stop: %v, want the stream to end", err)
	}
	if resp := s.do(t, "GET", "/api/events", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("events after Stop: status %d, want 503", resp.StatusCode)
	}
}

func TestEventStreamKeepAlive(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	clk := s.clk.(*clock.Fake)
	waiting := clk.TimerCreated()
	_, r := openEvents(t, s)
	readEvent(t, r) // retry
	expectEvent(t, r, "history", nil)
	<-waiting // the stream waits for events or its keep-alive timer
	clk.Advance(15 * time.Second)
	if ev, err := readEvent(t, r); err != nil || ev.Name != ":" {
		t.Fatalf("after 15 s: %+v, %v; want a keep-alive comment", ev, err)
	}
}

// A client that goes away is unsubscribed.
func TestEventStreamClientGone(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	resp, r := openEvents(t, s)
	readEvent(t, r)
	if n := s.dash.Streams(); n != 1 {
		t.Fatalf("streams = %d, want 1", n)
	}
	resp.Body.Close()
	// The handler notices at its next write or when the request's context
	// ends; samples make it write.
	deadline := time.Now().Add(10 * time.Second)
	for s.dash.Streams() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("stream still open 10 s after the client left")
		}
		s.dash.SampleNow(context.Background())
		time.Sleep(time.Millisecond) // the handler runs in the server's goroutine
	}
}
