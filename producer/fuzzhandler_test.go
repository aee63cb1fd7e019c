package producer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/queue"
)

// FuzzHandler: whatever the request, the endpoint over a real engine
// answers JSON, never a 5xx, and says done only with a message id.
func FuzzHandler(f *testing.F) {
	e, err := queue.Open(f.Context(), queue.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"demo", "jobs.fifo"} {
		attrs := map[string]string{}
		if name == "jobs.fifo" {
			attrs["FifoQueue"] = "true"
		}
		if _, err := e.CreateQueue(f.Context(), name, attrs, nil); err != nil {
			f.Fatal(err)
		}
	}
	h := producer.NewHandler(producer.NewEngineSender(e), producer.Options{MaxRequestBytes: 64 << 10})
	f.Add("GET", "/queue/demo?message=test", "", []byte(nil))
	f.Add("POST", "/queue/demo", "application/json", []byte(`{"body":"x","attributes":{"a":{"DataType":"Number","StringValue":"1e3"}}}`))
	f.Add("POST", "/queue/jobs.fifo", "", []byte(`[{"body":"x","messageGroupId":"g","messageDeduplicationId":"d"},{"body":"y"}]`))
	f.Add("POST", "/queue/demo?delaySeconds=5", "text/plain", []byte("raw"))
	f.Add("POST", "/queue/demo", "", []byte(`{"body":"x","attributes":{"b":{"DataType":"Binary","StringValue":"s"}}}`))
	f.Add("PATCH", "/queue/", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, target, contentType string, body []byte) {
		if method != "GET" && method != "POST" && method != "PUT" {
			method = "POST"
		}
		if len(target) == 0 || target[0] != '/' {
			target = "/queue/" + target
		}
		req, err := newRequest(method, target, body)
		if err != nil {
			return // not a request an HTTP server would hand over
		}
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var r producer.Response
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatalf("answer %q is not JSON: %v", w.Body, err)
		}
		if w.Code >= 500 {
			t.Fatalf("status %d for %s %q %q %q: %s", w.Code, method, target, contentType, body, w.Body)
		}
		if w.Code == 200 && r.Done && r.MessageID == "" && len(r.Results) == 0 {
			t.Fatalf("done without an id: %s", w.Body)
		}
		if w.Code != 200 && (r.Done || r.Error == nil || r.Error.Code == "") {
			t.Fatalf("status %d with answer %s", w.Code, w.Body)
		}
	})
}

// newRequest builds a server-side request, or fails for a target an HTTP
// server would not accept (httptest.NewRequest panics on those).
func newRequest(method, target string, body []byte) (req *http.Request, err error) {
	if _, err := url.ParseRequestURI(target); err != nil {
		return nil, err
	}
	defer func() {
		if recover() != nil {
			req, err = nil, errors.New("invalid request target")
		}
	}()
	return httptest.NewRequest(method, target, bytes.NewReader(body)), nil
}
