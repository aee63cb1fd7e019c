package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/dashboard/enginebackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

// engineSource observes a queue of the embedded engine for the autoscaler.
type engineSource struct{ q *queue.Queue }

func (s engineSource) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	if err := ctx.Err(); err != nil {
		return autoscale.QueueStats{}, err
	}
	c := s.q.Counts()
	return autoscale.QueueStats{Visible: c.Visible, InFlight: c.Inflight, Delayed: c.Delayed}, nil
}

// system is a dashboard over real parts: an in-memory queue engine with the
// queue "jobs", an autoscaler (target tracking, 5 messages a worker) on an
// in-memory fleet, and the engine backend.
type system struct {
	clk     clock.Clock
	engine  *queue.Engine
	jobs    *queue.Queue
	fleet   *memfleet.Fleet
	ctl     *autoscale.Controller
	backend *enginebackend.Backend
	dash    *dashboard.Dashboard
	srv     *httptest.Server
}

type setupOptions struct {
	clock    clock.Clock   // default: a fake clock
	token    string        // default: none
	interval time.Duration // the autoscaler's; default 1s
	start    bool          // start the engine, the controller and the sampler
	state    string        // Options.StateFile; default none
}

func setup(t testing.TB, o setupOptions) *system {
	t.Helper()
	ctx := context.Background()
	if o.clock == nil {
		o.clock = clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	}
	e, err := queue.Open(ctx, queue.Options{Clock: o.clock, DeletedQueueCooldown: -1})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := e.CreateQueue(ctx, "jobs", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateQueue(ctx, "jobs-dlq", map[string]string{"MessageRetentionPeriod": "1209600"}, nil); err != nil {
		t.Fatal(err)
	}
	fleet := memfleet.New(o.clock, 2*time.Second)
	zero := 0
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 5, ScaleOutCooldown: &zero, ScaleInCooldown: &zero})
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := autoscale.New(autoscale.Options{
		Source: engineSource{jobs}, Fleet: fleet, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Min: 0, Max: 10}, Clock: o.clock, Interval: o.interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := enginebackend.New(enginebackend.Config{
		Engine: e, Queue: "jobs", Decisions: ctl.Decisions, Fleet: fleet,
		QueueURL: func(name string) string { return "http://127.0.0.1:9324/000000000000/" + name },
		Workers: func() []dashboard.WorkerInfo {
			var ws []dashboard.WorkerInfo
			now := o.clock.Now()
			fleet.Range(func(w *memfleet.Worker) bool {
				st := "idle"
				if w.ReadyAt.After(now) {
					st = "starting"
				}
				ws = append(ws, dashboard.WorkerInfo{ID: "w" + strconv.Itoa(w.ID), State: st, Since: w.ReadyAt})
				return true
			})
			return ws
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.New(dashboard.Options{Backend: b, Clock: o.clock, Token: o.token, StateFile: o.state})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	s := &system{clk: o.clock, engine: e, jobs: jobs, fleet: fleet, ctl: ctl, backend: b, dash: d, srv: srv}
	if o.start {
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ctl.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		d.Stop(context.Background())
		srv.Close()
		ctl.Stop(context.Background())
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(sctx); err != nil {
			t.Errorf("stop engine: %v", err)
		}
	})
	return s
}

// do sends a request to the dashboard; header pairs follow the body.
func (s *system) do(t testing.TB, method, path, body string, header ...string) *http.Response {
	t.Helper()
	var r *http.Request
	var err error
	if body == "" {
		r, err = http.NewRequest(method, s.srv.URL+path, nil)
	} else {
		r, err = http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
