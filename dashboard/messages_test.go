package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/peekapi"
	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/queue"
)

// deadLetters makes jobs send its messages to jobs-dlq after one receive
// and fails n messages into it.
func deadLetters(t *testing.T, s *system, n int) {
	t.Helper()
	ctx := context.Background()
	dlq, err := s.engine.Queue("jobs-dlq")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.jobs.SetAttributes(ctx, map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlq.ARN() + `","maxReceiveCount":"1"}`}); err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := s.jobs.Send(ctx, queue.SendInput{Body: "poison"}); err != nil {
			t.Fatal(err)
		}
	}
	zero := time.Duration(0)
	for got := 0; got < n; {
		ds, err := s.jobs.Receive(ctx, queue.ReceiveInput{Max: 10, Visibility: &zero, Wait: &zero})
		if err != nil {
			t.Fatal(err)
		}
		got += len(ds)
	}
	if ds, err := s.jobs.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero}); err != nil || len(ds) != 0 {
		t.Fatalf("the failed messages were received again: %d, %v", len(ds), err)
	}
	if c := dlq.Counts(); c.Visible != n {
		t.Fatalf("jobs-dlq holds %d, want %d", c.Visible, n)
	}
}

func TestMessagesAPI(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{token: "tok"})
	auth := []string{"Authorization", "Bearer tok"}
	deadLetters(t, s, 3)

	resp := s.do(t, "GET", "/api/queues/jobs-dlq/messages?limit=2", "", auth...)
	var page queue.PeekPage
	if err := json.Unmarshal([]byte(readAll(t, resp)), &page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("page: %d %v", resp.StatusCode, err)
	}
	if len(page.Messages) != 2 || page.Next == 0 || page.Visible != 3 || page.Messages[0].ReceiveCount != 1 {
		t.Fatalf("page: %+v", page)
	}
	resp = s.do(t, "GET", "/api/queues/jobs-dlq/messages/"+page.Messages[0].ID, "", auth...)
	var m queue.PeekedMessage
	if err := json.Unmarshal([]byte(readAll(t, resp)), &m); err != nil || m.Body != "poison" {
		t.Fatalf("message: %d %+v %v", resp.StatusCode, m, err)
	}
	if resp := s.do(t, "GET", "/api/queues/jobs-dlq/messages", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", resp.StatusCode)
	}
	if resp := s.do(t, "GET", "/api/queues/jobs-dlq/messages?limit=1000", "", auth...); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("limit 1000: %d, want 400", resp.StatusCode)
	}
	if resp := s.do(t, "GET", "/api/queues/nope/messages", "", auth...); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown queue: %d, want 404", resp.StatusCode)
	}

	// The client of `qscale messages list --admin URL/api/queues/` reads
	// the same pages with the dashboard's token.
	c := &peekapi.Client{BaseURL: s.srv.URL + "/api/queues/", Token: "tok"}
	cpage, err := c.Peek(t.Context(), "jobs-dlq", queue.PeekOptions{After: page.Next})
	if err != nil || len(cpage.Messages) != 1 || cpage.Messages[0].ID == page.Messages[1].ID {
		t.Fatalf("client's second page: %+v %v", cpage, err)
	}
	if _, err := (&peekapi.Client{BaseURL: s.srv.URL + "/api/queues/"}).Peek(t.Context(), "jobs-dlq", queue.PeekOptions{}); err == nil {
		t.Fatal("the client read the dashboard without its token")
	}

	resp = s.do(t, "GET", "/api/browser", "", auth...)
	var b dashboard.Browser
	if err := json.Unmarshal([]byte(readAll(t, resp)), &b); err != nil || !b.Peek || !b.Manage || b.Failures["jobs"].DeadLettered != 3 {
		t.Fatalf("browser: %+v %v", b, err)
	}
	dlq, _ := s.engine.Queue("jobs-dlq")
	if c := dlq.Counts(); c.Visible != 3 || c.Inflight != 0 {
		t.Fatalf("after browsing: %+v", c)
	}
}

func TestQueueFormsAndRedrive(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{clock: clock.Real{}, start: true})
	ok := []string{dashboard.CSRFHeader, "1", "Content-Type", "application/json"}

	// State changes need the same-origin evidence every POST needs.
	if resp := s.do(t, "POST", "/api/queues", `{"name":"made","attributes":{}}`); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("create without the CSRF header: %d, want 403", resp.StatusCode)
	}
	resp := s.do(t, "POST", "/api/queues", `{"name":"made","attributes":{"VisibilityTimeout":"7","MessageRetentionPeriod":"3600"}}`, ok...)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, readAll(t, resp))
	}
	made, err := s.engine.Queue("made")
	if err != nil || made.Config().Visibility != 7*time.Second {
		t.Fatalf("created queue: %v %+v", err, made)
	}
	for _, tc := range []struct{ path, body string }{
		{"/api/queues", `{"name":"bad name"}`},
		{"/api/queues", `{"name":"x","attributes":{"Policy":"{}"}}`},
		{"/api/queues", `{"name":"x","attributes":{"VisibilityTimeout":"99999"}}`},
		{"/api/queues/made/attributes", `{"attributes":{"FifoQueue":"true"}}`},
		{"/api/queues/made/attributes", `{"attributes":{}}`},
		{"/api/queues/made/attributes", `{"attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:none\",\"maxReceiveCount\":3}"}}`},
		{"/api/queues/made/redrive", `{"destination":"a b"}`},
		{"/api/queues/made/redrive", `{}`}, // not a dead-letter queue
	} {
		if resp := s.do(t, "POST", tc.path, tc.body, ok...); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s: %d, want 400: %s", tc.path, tc.body, resp.StatusCode, readAll(t, resp))
		}
	}
	if resp := s.do(t, "POST", "/api/queues/nope/attributes", `{"attributes":{"VisibilityTimeout":"1"}}`, ok...); resp.StatusCode != http.StatusNotFound {
		t.Errorf("edit unknown queue: %d, want 404", resp.StatusCode)
	}
	resp = s.do(t, "POST", "/api/queues/made/attributes", `{"attributes":{"VisibilityTimeout":"9"}}`, ok...)
	if resp.StatusCode != 200 || made.Config().Visibility != 9*time.Second {
		t.Fatalf("edit: %d %s", resp.StatusCode, readAll(t, resp))
	}

	deadLetters(t, s, 4)
	resp = s.do(t, "POST", "/api/queues/jobs-dlq/redrive", ``, ok...)
	if resp.StatusCode != 200 {
		t.Fatalf("redrive: %d %s", resp.StatusCode, readAll(t, resp))
	}
	var rs []dashboard.Redrive
	testwait.For(t, 10*time.Second, "the move task to complete", func() bool {
		resp := s.do(t, "GET", "/api/queues/jobs-dlq/redrives", "")
		if err := json.Unmarshal([]byte(readAll(t, resp)), &rs); err != nil {
			t.Fatal(err)
		}
		return len(rs) > 0 && rs[0].Status != "RUNNING"
	})
	if rs[0].Status != "COMPLETED" || rs[0].Moved != 4 {
		t.Fatalf("move task: %+v", rs[0])
	}
	if c := s.jobs.Counts(); c.Visible != 4 {
		t.Fatalf("jobs holds %d after the redrive, want 4", c.Visible)
	}
}

// A Backend that cannot peek (one over Amazon SQS) answers 501 and says
// why; one that cannot manage queues refuses the forms.
func TestMessagesUnsupported(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	d, err := dashboard.New(dashboard.Options{Backend: struct{ dashboard.Backend }{s.backend}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	if status, body := get("/api/queues/jobs/messages"); status != http.StatusNotImplemented || !strings.Contains(body, "Amazon SQS has no way") {
		t.Errorf("peek: %d %s", status, body)
	}
	if _, body := get("/api/browser"); !strings.Contains(body, `"peek":false`) || !strings.Contains(body, `"manage":false`) {
		t.Errorf("browser: %s", body)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/queues", strings.NewReader(`{"name":"x","attributes":{}}`))
	req.Header.Set(dashboard.CSRFHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("create: %d, want 501", resp.StatusCode)
	}
}
