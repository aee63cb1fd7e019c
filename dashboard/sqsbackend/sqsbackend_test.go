package sqsbackend_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/dashboard/sqsbackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testserver"
)

// counting counts the source's reads.
type counting struct {
	autoscale.QueueSource
	n atomic.Int32
}

func (c *counting) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	c.n.Add(1)
	return c.QueueSource.Observe(ctx)
}

func TestSampleReusesARecentObservation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	api := testserver.Client(testserver.Start(t))
	queueURL := testserver.Fill(t, api, "jobs", 7)
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	src := &counting{QueueSource: sqssource.New(api, queueURL)}
	fleet := memfleet.New(clk, 0)
	tt, _ := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 4})
	ctrl, err := autoscale.New(autoscale.Options{Source: src, Fleet: fleet, Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Max: 5}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	be, err := sqsbackend.New(sqsbackend.Config{QueueURL: queueURL, API: api, Source: src, Fleet: fleet, Controller: ctrl, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := be.(dashboard.Pauser); !ok {
		t.Fatal("a backend with a controller is not a Pauser")
	}
	// No decision yet: the sample reads SQS itself.
	s, err := be.Sample(ctx)
	if err != nil || src.n.Load() != 1 || len(s.Queues) != 1 || s.Queues[0].Name != "jobs" || s.Queues[0].Visible != 7 {
		t.Fatalf("first sample %+v, %v, %d reads", s, err, src.n.Load())
	}
	ctrl.Tick(ctx) // the second read
	s, err = be.Sample(ctx)
	if err != nil || src.n.Load() != 2 || s.Target != 4 || s.Fleet.Desired != 0 {
		t.Fatalf("sample after a tick %+v, %v, %d reads", s, err, src.n.Load())
	}
	clk.Advance(3 * time.Second) // the decision is stale now
	if _, err := be.Sample(ctx); err != nil || src.n.Load() != 3 {
		t.Fatalf("stale decision: %v, %d reads", err, src.n.Load())
	}
	if _, err := be.Send(ctx, "jobs", "x"); !errors.Is(err, dashboard.ErrUnsupported) {
		t.Fatalf("Send: %v", err)
	}
	if err := be.Purge(ctx, "jobs"); !errors.Is(err, dashboard.ErrUnsupported) {
		t.Fatalf("Purge: %v", err)
	}
	qs, err := be.Queues(ctx)
	if err != nil || len(qs) != 1 || qs[0].URL != queueURL || qs[0].Attributes["ApproximateNumberOfMessages"] != "7" {
		t.Fatalf("Queues: %+v, %v", qs, err)
	}
	without, err := sqsbackend.New(sqsbackend.Config{QueueURL: queueURL, API: api, Source: src, Fleet: fleet})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := without.(dashboard.Pauser); ok || without.Decisions(5) != nil {
		t.Fatal("a backend without a controller pauses or has decisions")
	}
	if _, err := sqsbackend.New(sqsbackend.Config{QueueURL: "http://x/", API: api, Source: src, Fleet: fleet}); err == nil {
		t.Fatal("a URL without a queue name accepted")
	}
}
