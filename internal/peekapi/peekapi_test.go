package peekapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/qscale/qscale/internal/peekapi"
	"github.com/qscale/qscale/queue"
)

// setup serves an engine's message browser and returns the engine and a
// client of it.
func setup(t *testing.T) (*queue.Engine, *peekapi.Client, string) {
	t.Helper()
	t.Parallel()
	e, err := queue.Open(t.Context(), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	mux := http.NewServeMux()
	peekapi.Register(mux, peekapi.AdminPrefix, peekapi.EnginePeeker{Engine: e})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return e, &peekapi.Client{BaseURL: srv.URL, HTTP: srv.Client()}, srv.URL
}

func TestClientPagesAndPeeks(t *testing.T) {
	e, c, _ := setup(t)
	q, err := e.CreateQueue(t.Context(), "jobs", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		r, err := q.Send(t.Context(), queue.SendInput{Body: fmt.Sprintf("job %d", i),
			Attributes: map[string]queue.AttributeValue{"bin": {DataType: "Binary", BinaryValue: []byte{0, 1, 2}}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.MessageID)
	}
	var got []string
	o := queue.PeekOptions{Limit: 2}
	for {
		page, err := c.Peek(t.Context(), "jobs", o)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			got = append(got, m.ID)
			if string(m.Attributes["bin"].BinaryValue) != "\x00\x01\x02" {
				t.Errorf("binary attribute: %+v", m.Attributes)
			}
		}
		if page.Next == 0 {
			break
		}
		o.After = page.Next
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("paged ids %v, want %v", got, ids)
	}
	m, err := c.PeekMessage(t.Context(), "jobs", ids[3])
	if err != nil || m.Body != "job 3" || m.State != queue.PeekVisible {
		t.Fatalf("peek: %+v %v", m, err)
	}
	if c := q.Counts(); c.Visible != 5 || c.Inflight != 0 {
		t.Fatalf("counts after browsing: %+v", c)
	}
}

// Errors keep their SQS code and their status, and bad requests are
// refused with 400, never a 500.
func TestErrors(t *testing.T) {
	e, c, base := setup(t)
	if _, err := e.CreateQueue(t.Context(), "jobs", nil, nil); err != nil {
		t.Fatal(err)
	}
	var pe *peekapi.Error
	if _, err := c.Peek(t.Context(), "nope", queue.PeekOptions{}); !errors.As(err, &pe) || pe.Status != 400 && pe.Status != 404 || pe.Code != string(queue.ErrQueueDoesNotExist) {
		t.Fatalf("missing queue: %v", err)
	}
	if _, err := c.PeekMessage(t.Context(), "jobs", "nope"); !errors.As(err, &pe) || pe.Status != 404 {
		t.Fatalf("missing message: %v", err)
	}
	for _, path := range []string{
		"jobs/messages?limit=0", "jobs/messages?limit=101", "jobs/messages?limit=x", "jobs/messages?after=-1",
		"jobs/messages?after=99999999999999999999999", "jobs/messages?limt=3", "jobs/messages?limit=1&limit=2",
		"bad%20name/messages", "jobs/messages/" + strings.Repeat("x", 200), "jobs/messages/x?y=1",
	} {
		resp, err := http.Get(base + peekapi.AdminPrefix + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %d %s, want 400 with a JSON error", path, resp.StatusCode, b)
		}
	}
}

func TestUnsupportedIs501(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	peekapi.Register(mux, "/api/queues/", peekapi.Unsupported)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/queues/q/messages")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(b), "Amazon SQS") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// ParseQuery never panics, and what it accepts is within bounds and reads
// back the same.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "after=12&limit=5", "limit=100", "limit=0", "after=18446744073709551615",
		"after=18446744073709551616", "limit=+5", "limit=05", "after=&limit=", "x=1", "limit=1&limit=1", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		o, err := peekapi.ParseQuery(v)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if o.Limit < 0 || o.Limit > queue.MaxPeekLimit {
			t.Fatalf("%q: limit %d accepted", raw, o.Limit)
		}
		if o.Limit == 0 && v.Get("limit") != "" {
			t.Fatalf("%q: limit dropped", raw)
		}
		for name := range v {
			if name != "after" && name != "limit" {
				t.Fatalf("%q: unknown %q accepted", raw, name)
			}
		}
	})
}
