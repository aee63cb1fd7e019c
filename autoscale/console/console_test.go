package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/console"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/dashboard/sqsbackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testserver"
)

// flaky fails Observe while down is set.
type flaky struct {
	autoscale.QueueSource
	mu   sync.Mutex
	down bool
}

func (f *flaky) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return autoscale.QueueStats{}, io.ErrUnexpectedEOF
	}
	return f.QueueSource.Observe(ctx)
}

type fixture struct {
	clk     *clock.Fake
	src     *flaky
	ctrl    *autoscale.Controller
	backend dashboard.Backend
	srv     *httptest.Server
}

// setup runs a controller on a fake clock over a real qscale server's
// queue "jobs" (12 messages) and a memory fleet, with its console.
func setup(t *testing.T, token string) fixture {
	t.Helper()
	endpoint := testserver.Start(t)
	api := testserver.Client(endpoint)
	queueURL := testserver.Fill(t, api, "jobs", 12)
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	src := &flaky{QueueSource: sqssource.New(api, queueURL)}
	ctrl, be := controlled(t, api, clk, queueURL, src, 5)
	c, err := console.New(console.Options{Listen: "127.0.0.1:0", Token: token, Queue: "jobs", Controller: ctrl, Backend: be, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return fixture{clk: clk, src: src, ctrl: ctrl, backend: be, srv: srv}
}

// controlled builds a controller of a memory fleet (at most 10 workers,
// target tracking at target messages per worker, ticking every second of
// clk) over src, the queue at queueURL, and its dashboard backend.
func controlled(t *testing.T, api *sqs.Client, clk *clock.Fake, queueURL string, src autoscale.QueueSource, target float64) (*autoscale.Controller, dashboard.Backend) {
	t.Helper()
	fleet := memfleet.New(clk, 0)
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: target})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := autoscale.New(autoscale.Options{Source: src, Fleet: fleet, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Max: 10}, Clock: clk, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	be, err := sqsbackend.New(sqsbackend.Config{QueueURL: queueURL, API: api, Source: src, Fleet: fleet, Controller: ctrl, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return ctrl, be
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadyzFollowsTheLastGoodObservation(t *testing.T) {
	t.Parallel()
	fx := setup(t, "")
	if code, body := get(t, fx.srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not read yet") {
		t.Fatalf("before the first tick: %d %s", code, body)
	}
	if code, _ := get(t, fx.srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	fx.ctrl.Tick(t.Context())
	if code, body := get(t, fx.srv.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("after a good tick: %d %s", code, body)
	}
	fx.src.mu.Lock()
	fx.src.down = true
	fx.src.mu.Unlock()
	for range 4 {
		fx.clk.Advance(time.Second)
		fx.ctrl.Tick(t.Context())
	}
	if code, body := get(t, fx.srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "4s ago (more than 3s)") {
		t.Fatalf("after 4 s of failures: %d %s", code, body)
	}
}

func TestMetricsNeedTheTokenAndTheDashboardReadsSQS(t *testing.T) {
	t.Parallel()
	fx := setup(t, "tok")
	if d := fx.ctrl.Tick(t.Context()); d.Error != "" || d.Observation.Queue.Visible != 12 {
		t.Fatalf("first decision %+v", d)
	}
	if code, _ := get(t, fx.srv.URL+"/metrics"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d", code)
	}
	code, body := get(t, fx.srv.URL+"/metrics", "Authorization", "Bearer tok")
	if code != http.StatusOK || !strings.Contains(body, `qscale_queue_messages{fleet="jobs",queue="jobs",state="visible"} 12`) {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	if code, _ := get(t, fx.srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz needs no token: %d", code)
	}
	code, body = get(t, fx.srv.URL+"/api/queues", "Authorization", "Bearer tok")
	var qs []dashboard.QueueInfo
	if code != http.StatusOK || json.Unmarshal([]byte(body), &qs) != nil || len(qs) != 1 || qs[0].Attributes["ApproximateNumberOfMessages"] != "12" {
		t.Fatalf("/api/queues: %d %s", code, body)
	}
	code, body = get(t, fx.srv.URL+"/api/control", "Authorization", "Bearer tok")
	if code != http.StatusOK || body != `{"features":{"send":false,"purge":false,"counters":false,"pause":true},"paused":false}` {
		t.Fatalf("/api/control: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", fx.srv.URL+"/api/queues/jobs/purge", nil)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set(dashboard.CSRFHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("purge: %s, want 501", resp.Status)
	}
}
