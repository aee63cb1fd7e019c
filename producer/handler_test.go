package producer_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/producer/sqssender"
	"github.com/qscale/qscale/server"
	"github.com/qscale/qscale/sqsconn"
)

// fixture is a queue server, an SDK client to it, and the producer
// endpoint in front of it through one Sender.
type fixture struct {
	api      *sqs.Client
	endpoint string // the producer endpoint's base URL
}

// senders are the Sender implementations every endpoint test runs against.
var senders = []struct {
	name string
	new  func(t *testing.T, s *server.Server, api *sqs.Client) producer.Sender
}{
	{"engine", func(t *testing.T, s *server.Server, _ *sqs.Client) producer.Sender {
		return producer.NewEngineSender(s.Engine)
	}},
	{"sqs", func(t *testing.T, _ *server.Server, api *sqs.Client) producer.Sender { return sqssender.New(api) }},
}

func setup(t *testing.T, newSender func(*testing.T, *server.Server, *sqs.Client) producer.Sender, opts producer.Options) *fixture {
	t.Helper()
	s := testserver.StartConfig(t, server.Config{})
	api, _, err := sqsconn.New(t.Context(), sqsconn.Options{Endpoint: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/queue/", producer.NewHandler(newSender(t, s, api), opts))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &fixture{api: api, endpoint: hs.URL}
}

func (f *fixture) createQueue(t *testing.T, name string, attrs map[string]string) string {
	t.Helper()
	out, err := f.api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

// visible returns the queue's visible and delayed counts.
func (f *fixture) counts(t *testing.T, url string) (visible, delayed int) {
	t.Helper()
	out, err := f.api.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	delayed, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesDelayed"])
	return visible, delayed
}

func (f *fixture) receive(t *testing.T, url string, n int) []types.Message {
	t.Helper()
	var got []types.Message
	for len(got) < n {
		out, err := f.api.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
		got = append(got, out.Messages...)
	}
	return got
}

// do sends one request and decodes the answer, which must be JSON.
func (f *fixture) do(t *testing.T, method, path, contentType, body string) (int, producer.Response) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, b)
	}
	var r producer.Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, b, err)
	}
	return resp.StatusCode, r
}

func forEachSender(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, s := range senders {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			test(t, setup(t, s.new, producer.Options{}))
		})
	}
}

// The API Gateway-style request: GET /queue/NAME?message=TEXT answers
// {"done": true} and the message is in the queue.
func TestGetSendsMessage(t *testing.T) {
	t.Parallel()
	forEachSender(t, func(t *testing.T, f *fixture) {
		q := f.createQueue(t, "demo", nil)
		for i := range 3 {
			status, r := f.do(t, "GET", "/queue/demo?message="+url.QueryEscape(fmt.Sprintf("test %d & more", i)), "", "")
			if status != 200 || !r.Done || r.MessageID == "" || r.Error != nil {
				t.Fatalf("status %d, answer %+v", status, r)
			}
		}
		if v, _ := f.counts(t, q); v != 3 {
			t.Fatalf("visible %d, want 3", v)
		}
		msgs := f.receive(t, q, 3)
		if b := aws.ToString(msgs[0].Body); !strings.HasPrefix(b, "test ") || !strings.HasSuffix(b, " & more") {
			t.Fatalf("body %q", b)
		}
	})
}

func TestPostJSONMessage(t *testing.T) {
	t.Parallel()
	forEachSender(t, func(t *testing.T, f *fixture) {
		q := f.createQueue(t, "orders", nil)
		status, r := f.do(t, "POST", "/queue/orders", "application/json",
			`{"body": "order 1", "attributes": {"tenant": {"DataType": "String", "StringValue": "acme"}, "blob": {"DataType": "Binary", "BinaryValue": "AAEC"}}}`)
		if status != 200 || !r.Done || r.MessageID == "" {
			t.Fatalf("status %d, answer %+v", status, r)
		}
		m := f.receive(t, q, 1)[0]
		if aws.ToString(m.Body) != "order 1" || aws.ToString(m.MessageId) != r.MessageID {
			t.Fatalf("message %q id %q, answered id %q", aws.ToString(m.Body), aws.ToString(m.MessageId), r.MessageID)
		}
		if a := m.MessageAttributes["tenant"]; aws.ToString(a.StringValue) != "acme" || aws.ToString(a.DataType) != "String" {
			t.Fatalf("attribute tenant %+v", a)
		}
		if a := m.MessageAttributes["blob"]; string(a.BinaryValue) != "\x00\x01\x02" {
			t.Fatalf("attribute blob %+v", a)
		}
		// A delayed message is counted as delayed, not visible.
		status, r = f.do(t, "POST", "/queue/orders", "", `{"body": "later", "delaySeconds": 600}`)
		if status != 200 || !r.Done {
			t.Fatalf("status %d, answer %+v", status, r)
		}
		if v, d := f.counts(t, q); v != 0 || d != 1 {
			t.Fatalf("visible %d delayed %d, want 0 and 1", v, d)
		}
	})
}

func TestPostBatchAndText(t *testing.T) {
	t.Parallel()
	forEachSender(t, func(t *testing.T, f *fixture) {
		q := f.createQueue(t, "batch", nil)
		status, r := f.do(t, "POST", "/queue/batch", "application/json", `[{"body":"a"},{"body":"b"},{"body":"c"}]`)
		if status != 200 || !r.Done || len(r.Results) != 3 {
			t.Fatalf("status %d, answer %+v", status, r)
		}
		ids := map[string]bool{}
		for _, e := range r.Results {
			if e.MessageID == "" || e.Error != nil {
				t.Fatalf("entry %+v", e)
			}
			ids[e.MessageID] = true
		}
		if len(ids) != 3 {
			t.Fatalf("ids %v", ids)
		}
		// curl -d sends form encoding; a JSON body is still read as JSON.
		status, r = f.do(t, "POST", "/queue/batch", "application/x-www-form-urlencoded", `{"body":"d"}`)
		if status != 200 || !r.Done {
			t.Fatalf("form-encoded JSON: status %d, answer %+v", status, r)
		}
		raw := "{not json} just text\nline 2"
		status, r = f.do(t, "POST", "/queue/batch", "text/plain; charset=utf-8", raw)
		if status != 200 || !r.Done || r.MessageID == "" {
			t.Fatalf("text/plain: status %d, answer %+v", status, r)
		}
		if v, _ := f.counts(t, q); v != 5 {
			t.Fatalf("visible %d, want 5", v)
		}
		found := false
		for _, m := range f.receive(t, q, 5) {
			found = found || aws.ToString(m.Body) == raw
		}
		if !found {
			t.Fatal("the text/plain body was not received as sent")
		}
	})
}

func TestFIFO(t *testing.T) {
	t.Parallel()
	forEachSender(t, func(t *testing.T, f *fixture) {
		q := f.createQueue(t, "jobs.fifo", map[string]string{"FifoQueue": "true"})
		status, r := f.do(t, "POST", "/queue/jobs.fifo", "", `{"body":"x","messageGroupId":"g","messageDeduplicationId":"d1"}`)
		if status != 200 || r.SequenceNumber == "" {
			t.Fatalf("status %d, answer %+v", status, r)
		}
		status, r = f.do(t, "GET", "/queue/jobs.fifo?message=y&messageGroupId=g&messageDeduplicationId=d2", "", "")
		if status != 200 || r.SequenceNumber == "" {
			t.Fatalf("GET: status %d, answer %+v", status, r)
		}
		// One good entry and one without a group: as in SQS's
		// SendMessageBatch, the whole batch is refused and nothing is sent.
		status, r = f.do(t, "POST", "/queue/jobs.fifo", "", `[{"body":"z","messageGroupId":"g","messageDeduplicationId":"d3"},{"body":"w","messageDeduplicationId":"d4"}]`)
		if status != 400 || r.Done || r.Error == nil || r.Error.Code != producer.CodeInvalidParameterValue {
			t.Fatalf("batch without a group: status %d, answer %+v", status, r)
		}
		if v, _ := f.counts(t, q); v != 2 {
			t.Fatalf("visible %d, want 2", v)
		}
		// A single message without a group is refused.
		status, r = f.do(t, "POST", "/queue/jobs.fifo", "", `{"body":"x"}`)
		if status != 400 || r.Done || r.Error == nil || r.Error.Code != producer.CodeMissingParameter {
			t.Fatalf("no group: status %d, answer %+v", status, r)
		}
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", producer.MaxMessageSize+1)
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
	}{
		{"unknown queue GET", "GET", "/queue/nope?message=x", "", "", 404, producer.CodeNonExistentQueue},
		{"unknown queue POST", "POST", "/queue/nope", "", `{"body":"x"}`, 404, producer.CodeNonExistentQueue},
		{"unknown queue batch", "POST", "/queue/nope", "", `[{"body":"x"},{"body":"y"}]`, 404, producer.CodeNonExistentQueue},
		{"nested path", "GET", "/queue/q/more?message=x", "", "", 404, producer.CodeNonExistentQueue},
		{"no queue", "GET", "/queue/?message=x", "", "", 400, producer.CodeMissingParameter},
		{"no message", "GET", "/queue/q", "", "", 400, producer.CodeMissingParameter},
		{"empty message", "GET", "/queue/q?message=", "", "", 400, producer.CodeMissingParameter},
		{"bad delay", "GET", "/queue/q?message=x&delaySeconds=soon", "", "", 400, producer.CodeInvalidParameterValue},
		{"delay too long", "POST", "/queue/q", "", `{"body":"x","delaySeconds":901}`, 400, producer.CodeInvalidParameterValue},
		{"bad JSON", "POST", "/queue/q", "application/json", `{"body":`, 400, producer.CodeInvalidParameterValue},
		{"unknown field", "POST", "/queue/q", "application/json", `{"body":"x","colour":"red"}`, 400, producer.CodeInvalidParameterValue},
		{"wrong type", "POST", "/queue/q", "application/json", `{"body":12}`, 400, producer.CodeInvalidParameterValue},
		{"trailing data", "POST", "/queue/q", "application/json", `{"body":"x"} {}`, 400, producer.CodeInvalidParameterValue},
		{"no body field", "POST", "/queue/q", "application/json", `{"attributes":{}}`, 400, producer.CodeMissingParameter},
		{"empty POST", "POST", "/queue/q", "application/json", ``, 400, producer.CodeMissingParameter},
		{"empty batch", "POST", "/queue/q", "", `[]`, 400, producer.CodeEmptyBatch},
		{"batch of 11", "POST", "/queue/q", "", "[" + strings.Repeat(`{"body":"x"},`, 10) + `{"body":"x"}]`, 400, producer.CodeTooManyEntries},
		{"null entry", "POST", "/queue/q", "", `[null]`, 400, producer.CodeMissingParameter},
		{"bad attribute type", "POST", "/queue/q", "", `{"body":"x","attributes":{"a":{"DataType":"Colour","StringValue":"v"}}}`, 400, "InvalidParameterValue"},
		{"control character", "POST", "/queue/q", "", `{"body":"a\u0001b"}`, 400, "InvalidMessageContents"},
		{"not UTF-8", "POST", "/queue/q", "text/plain", "a\xffb", 400, "InvalidMessageContents"},
		{"unsupported type", "POST", "/queue/q", "application/octet-stream", "\x00\x01", 415, producer.CodeUnsupportedMediaType},
		{"oversize text", "POST", "/queue/q", "text/plain", big, 413, producer.CodeInvalidParameterValue},
		{"oversize GET", "GET", "/queue/q?message=" + strings.Repeat("y", 1<<20+1), "", "", 413, producer.CodeInvalidParameterValue},
		{"oversize batch", "POST", "/queue/q", "", `[{"body":"` + big[:600_000] + `"},{"body":"` + big[:600_000] + `"}]`, 413, producer.CodeBatchTooLong},
		{"request too large", "POST", "/queue/q", "", `{"body":"` + big + big + big + big + `"}`, 413, producer.CodeRequestTooLarge},
		{"PUT", "PUT", "/queue/q", "", `{"body":"x"}`, 405, producer.CodeMethodNotAllowed},
		{"DELETE", "DELETE", "/queue/q", "", ``, 405, producer.CodeMethodNotAllowed},
	}
	forEachSender(t, func(t *testing.T, f *fixture) {
		q := f.createQueue(t, "q", nil)
		for _, c := range cases {
			if c.name == "oversize GET" {
				continue // longer than Go's default header limit; see TestOversizeGET
			}
			status, r := f.do(t, c.method, c.path, c.contentType, c.body)
			if status != c.status || r.Done || r.Error == nil || r.Error.Code != c.code || r.Error.Message == "" {
				t.Errorf("%s: status %d, answer %+v; want %d %s", c.name, status, r, c.status, c.code)
			}
		}
		if v, d := f.counts(t, q); v != 0 || d != 0 {
			t.Fatalf("refused requests sent messages: visible %d delayed %d", v, d)
		}
	})
}

// An oversize GET is refused by the queue as SQS refuses an oversize
// message. (Over HTTP, Go's header limit refuses it even sooner.)
func TestOversizeGET(t *testing.T) {
	t.Parallel()
	s := testserver.StartConfig(t, server.Config{})
	if _, err := s.Engine.CreateQueue(t.Context(), "q", nil, nil); err != nil {
		t.Fatal(err)
	}
	h := producer.NewHandler(producer.NewEngineSender(s.Engine), producer.Options{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/queue/q?message="+strings.Repeat("y", 1<<20+1), nil))
	var r producer.Response
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 413 || r.Error == nil || r.Error.Code != producer.CodeInvalidParameterValue {
		t.Fatalf("status %d, answer %s (%v)", w.Code, w.Body, err)
	}
}

func TestMaxRequestBytesOption(t *testing.T) {
	t.Parallel()
	f := setup(t, senders[0].new, producer.Options{MaxRequestBytes: 100})
	f.createQueue(t, "q", nil)
	status, r := f.do(t, "POST", "/queue/q", "text/plain", strings.Repeat("z", 101))
	if status != 413 || r.Error == nil || r.Error.Code != producer.CodeRequestTooLarge {
		t.Fatalf("status %d, answer %+v", status, r)
	}
	if status, r = f.do(t, "POST", "/queue/q", "text/plain", strings.Repeat("z", 100)); status != 200 || !r.Done {
		t.Fatalf("status %d, answer %+v", status, r)
	}
}

// A different mount point: the name is what follows the prefix.
func TestPrefix(t *testing.T) {
	t.Parallel()
	s := testserver.StartConfig(t, server.Config{})
	if _, err := s.Engine.CreateQueue(t.Context(), "demo", nil, nil); err != nil {
		t.Fatal(err)
	}
	h := producer.NewHandler(producer.NewEngineSender(s.Engine), producer.Options{Prefix: "/run/queue"})
	for path, want := range map[string]int{"/run/queue/demo?message=x": 200, "/run/queue/demo/?message=x": 200, "/other/demo?message=x": 404} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("%s: status %d, want %d: %s", path, w.Code, want, w.Body)
		}
	}
	q, _ := s.Engine.Queue("demo")
	if c := q.Counts(); c.Visible != 2 {
		t.Fatalf("counts %+v, want 2 visible", c)
	}
}

// The SQS sender names an unreachable endpoint as a 502, not a 500.
func TestSQSSenderUnreachable(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.NotFoundHandler())
	addr := hs.URL
	hs.Close() // nothing listens there now
	api, _, err := sqsconn.New(t.Context(), sqsconn.Options{Endpoint: addr, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := producer.NewHandler(sqssender.New(api), producer.Options{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/queue/demo?message=x", nil))
	var r producer.Response
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 502 || r.Error == nil || r.Error.Code != producer.CodeServiceUnavailable {
		t.Fatalf("status %d, answer %s (%v)", w.Code, w.Body, err)
	}
}
