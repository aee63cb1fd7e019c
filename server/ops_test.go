package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/server"
)

// startOps starts a durable server with an admin listener on a free port
// and stops it when the test ends.
func startOps(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.AdminListen == "" {
		cfg.AdminListen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" && !cfg.InMemory {
		cfg.DataDir = t.TempDir()
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

// get sends GET url with the headers given as name, value pairs and
// returns the status and body.
func get(t *testing.T, c *http.Client, u string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads /metrics and parses it as Prometheus does.
func scrape(t *testing.T, c *http.Client, admin string, header ...string) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := get(t, c, admin+"/metrics", header...)
	if status != 200 {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of the series of fam whose labels include
// labels (name, value pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, fam string, labels ...string) (float64, bool) {
	f := fams[fam]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestServerMetricsCountQueuesAndRequests(t *testing.T) {
	t.Parallel()
	s := startOps(t, server.Config{})
	ctx := context.Background()
	c := newClient(s.URL())
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		in := &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}
		if i == 3 {
			in.DelaySeconds = 900
		}
		if _, err := c.SendMessage(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 600})
	if err != nil || len(out.Messages) != 2 {
		t.Fatalf("receive: %v, %d messages", err, len(out.Messages))
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	if err == nil {
		t.Fatal("GetQueueUrl of a missing queue succeeded")
	}

	fams := scrape(t, http.DefaultClient, s.AdminURL())
	for _, w := range []struct {
		fam    string
		labels []string
		want   float64
	}{
		{"qscale_queue_messages", []string{"queue", "jobs", "state", "visible"}, 1},
		{"qscale_queue_messages", []string{"queue", "jobs", "state", "in_flight"}, 1},
		{"qscale_queue_messages", []string{"queue", "jobs", "state", "delayed"}, 1},
		{"qscale_queue_messages_total", []string{"queue", "jobs", "event", "sent"}, 4},
		{"qscale_queue_messages_total", []string{"queue", "jobs", "event", "received"}, 2},
		{"qscale_queue_messages_total", []string{"queue", "jobs", "event", "deleted"}, 1},
		{"qscale_sqs_request_duration_seconds", []string{"action", "SendMessage"}, 4},
		{"qscale_sqs_request_duration_seconds", []string{"action", "ReceiveMessage"}, 1},
		{"qscale_sqs_request_duration_seconds", []string{"action", "GetQueueUrl"}, 1},
		{"qscale_sqs_request_errors_total", []string{"action", "GetQueueUrl", "code", "QueueDoesNotExist"}, 1},
		{"qscale_store_ready", nil, 1},
	} {
		got, ok := value(fams, w.fam, w.labels...)
		if !ok || got != w.want {
			t.Errorf("%s%v = %v (present %v), want %v", w.fam, w.labels, got, ok, w.want)
		}
	}
	if v, ok := value(fams, "qscale_queue_oldest_message_age_seconds", "queue", "jobs"); !ok || v < 0 {
		t.Errorf("oldest age %v, present %v", v, ok)
	}
	if _, ok := value(fams, "qscale_sqs_request_errors_total", "action", "SendMessage"); ok {
		t.Error("SendMessage counted an error it did not have")
	}
	// Every known action's histogram is there before its first request
	// (resolved at start), so rates over it start at zero, not absent.
	if v, ok := value(fams, "qscale_sqs_request_duration_seconds", "action", "PurgeQueue"); !ok || v != 0 {
		t.Errorf("PurgeQueue histogram: %v, present %v", v, ok)
	}
}

func TestServerUnknownActionsShareOneLabel(t *testing.T) {
	t.Parallel()
	s := startOps(t, server.Config{InMemory: true})
	for _, a := range []string{"Nope1", "Nope2", "Nope3"} {
		resp, err := http.PostForm(s.URL(), url.Values{"Action": {a}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	fams := scrape(t, http.DefaultClient, s.AdminURL())
	if v, _ := value(fams, "qscale_sqs_request_duration_seconds", "action", "unknown"); v != 3 {
		t.Errorf("unknown actions counted %v, want 3", v)
	}
	if v, _ := value(fams, "qscale_sqs_request_errors_total", "action", "unknown", "code", "InvalidAction"); v != 3 {
		t.Errorf("InvalidAction errors %v, want 3", v)
	}
	for _, m := range fams["qscale_sqs_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if strings.HasPrefix(l.GetValue(), "Nope") {
				t.Fatalf("a client's action name became a label: %v", l)
			}
		}
	}
}

func TestServerReadyzFollowsTheStore(t *testing.T) {
	t.Parallel()
	ok := startOps(t, server.Config{})
	if status, body := get(t, http.DefaultClient, ok.AdminURL()+"/readyz"); status != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz of a healthy server: %d %q", status, body)
	}
	// A watermark above any disk: the store refuses new messages at once.
	full := startOps(t, server.Config{MinFreeBytes: 1 << 62})
	status, body := get(t, http.DefaultClient, full.AdminURL()+"/readyz")
	if status != 503 || !strings.Contains(body, "disk") {
		t.Errorf("/readyz of a full store: %d %q, want 503 naming the disk", status, body)
	}
	if !errors.Is(full.Ready(), queue.ErrStoreFull) {
		t.Errorf("Ready() = %v, want ErrStoreFull", full.Ready())
	}
	if status, _ := get(t, http.DefaultClient, full.AdminURL()+"/healthz"); status != 200 {
		t.Errorf("/healthz of a full store: %d, want 200 (the process is alive)", status)
	}
	if v, _ := value(scrape(t, http.DefaultClient, full.AdminURL()), "qscale_store_ready"); v != 0 {
		t.Errorf("qscale_store_ready = %v on a full store", v)
	}
	mem := startOps(t, server.Config{InMemory: true})
	if status, _ := get(t, http.DefaultClient, mem.AdminURL()+"/readyz"); status != 200 {
		t.Errorf("/readyz in memory: %d", status)
	}
}

func TestServerProducerEndpointOnTheAdminListener(t *testing.T) {
	t.Parallel()
	s := startOps(t, server.Config{InMemory: true})
	ctx := context.Background()
	c := newClient(s.URL())
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	status, body := get(t, http.DefaultClient, s.AdminURL()+"/queue/jobs?message="+url.QueryEscape("hello there"))
	var ans struct {
		Done      bool   `json:"done"`
		MessageID string `json:"messageId"`
	}
	if err := json.Unmarshal([]byte(body), &ans); status != 200 || err != nil || !ans.Done {
		t.Fatalf("GET /queue/jobs: %d %s", status, body)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	if err != nil || len(out.Messages) != 1 || *out.Messages[0].Body != "hello there" || *out.Messages[0].MessageId != ans.MessageID {
		t.Fatalf("receive: %v %+v", err, out)
	}
	// The browser checks: a rebound name, a page of another site.
	if status, _ := get(t, http.DefaultClient, s.AdminURL()+"/queue/jobs?message=x", "Host", "evil.example"); status != 403 {
		t.Errorf("rebound Host: %d, want 403", status)
	}
	if status, _ := get(t, http.DefaultClient, s.AdminURL()+"/queue/jobs?message=x", "Sec-Fetch-Site", "cross-site"); status != 403 {
		t.Errorf("cross-site: %d, want 403", status)
	}
	if status, _ := get(t, http.DefaultClient, s.AdminURL()+"/metrics", "Origin", "http://evil.example"); status != 403 {
		t.Errorf("cross-origin /metrics: %d, want 403", status)
	}
}

func TestServerAdminToken(t *testing.T) {
	t.Parallel()
	s := startOps(t, server.Config{InMemory: true, AdminToken: "s3cret"})
	admin := s.AdminURL()
	for _, path := range []string{"/metrics", "/queue/jobs?message=x"} {
		if status, _ := get(t, http.DefaultClient, admin+path); status != 401 {
			t.Errorf("%s without the token: %d, want 401", path, status)
		}
		if status, _ := get(t, http.DefaultClient, admin+path, "Authorization", "Bearer wrong"); status != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", path, status)
		}
	}
	scrape(t, http.DefaultClient, admin, "Authorization", "Bearer s3cret")
	// With a token, any Host may be used (the token is the check).
	scrape(t, http.DefaultClient, admin, "Authorization", "bearer s3cret", "Host", "qscale.internal")
	// Probes carry no token.
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _ := get(t, http.DefaultClient, admin+path); status != 200 {
			t.Errorf("%s: %d, want 200 without a token", path, status)
		}
	}
}

func TestServerAdminBeyondLoopbackNeedsAToken(t *testing.T) {
	t.Parallel()
	_, err := server.Start(context.Background(), server.Config{InMemory: true, Listen: "127.0.0.1:0", AdminListen: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("Start = %v, want a refusal naming the token", err)
	}
}

func TestServerWithoutAdminListener(t *testing.T) {
	t.Parallel()
	s, err := server.Start(context.Background(), server.Config{InMemory: true, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	if s.AdminURL() != "" {
		t.Fatalf("an admin listener runs at %s though none was asked for", s.AdminURL())
	}
}

func TestServerAdminPortTakenStopsTheStart(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	_, err = server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dir, AdminListen: taken.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "admin listener") {
		t.Fatalf("Start = %v, want an error naming the admin listener", err)
	}
	// Everything was released: the store opens again.
	s, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatalf("restart on the same data directory: %v", err)
	}
	s.Stop(context.Background())
}
