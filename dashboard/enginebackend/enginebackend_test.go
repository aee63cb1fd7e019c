package enginebackend_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/dashboard/enginebackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

func TestSample(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	e, err := queue.Open(ctx, queue.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := e.CreateQueue(ctx, "jobs", nil, nil)
	other, _ := e.CreateQueue(ctx, "other", nil, nil)
	for range 12 {
		jobs.Send(ctx, queue.SendInput{Body: "x"})
	}
	other.Send(ctx, queue.SendInput{Body: "y"})
	fleet := memfleet.New(clk, 0)
	var decisions []autoscale.Decision
	b, err := enginebackend.New(enginebackend.Config{
		Engine: e, Queue: "jobs", Fleet: fleet,
		Decisions: func(n int) []autoscale.Decision { return decisions[max(len(decisions)-n, 0):] },
	})
	if err != nil {
		t.Fatal(err)
	}

	// No worker runs: backlog per worker is the visible count.
	s, err := b.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Queue != "jobs" || len(s.Queues) != 2 || s.Queues[0].Name != "jobs" || s.Queues[0].Visible != 12 || s.Queues[0].Sent != 12 || s.Queues[1].Visible != 1 {
		t.Fatalf("sample = %+v", s)
	}
	if s.BacklogPerWorker != 12 || s.Target != 0 || s.ProcessingTime != 0 {
		t.Errorf("backlog %v target %v processing %v, want 12, 0, 0", s.BacklogPerWorker, s.Target, s.ProcessingTime)
	}

	// Three running workers; the latest decision's policies name targets
	// (the smallest non-abstaining one is shown) and the processing time.
	if err := fleet.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	decisions = append(decisions, autoscale.Decision{Seq: 1}, autoscale.Decision{
		Seq:         2,
		Observation: autoscale.Observation{Queue: autoscale.QueueStats{ProcessingTime: 80 * time.Millisecond}},
		Proposals: []policy.Proposal{
			{Policy: "steps", Abstain: true, Target: 1},
			{Policy: "backlog", Target: 100},
			{Policy: "slo", Target: 40},
		},
	})
	s, err = b.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.BacklogPerWorker != 4 || s.Target != 40 || s.ProcessingTime != 80*time.Millisecond || s.Fleet.Running != 3 {
		t.Errorf("backlog %v target %v processing %v fleet %+v; want 4, 40, 80ms, 3 running", s.BacklogPerWorker, s.Target, s.ProcessingTime, s.Fleet)
	}

	// Without a named queue, the sums over all queues.
	all, _ := enginebackend.New(enginebackend.Config{Engine: e})
	if s, _ := all.Sample(ctx); s.BacklogPerWorker != 13 || s.Queue != "" {
		t.Errorf("all queues: backlog %v, queue %q; want 13, \"\"", s.BacklogPerWorker, s.Queue)
	}
	// A fleet of several queues: its backlog and its charts count those.
	two, _ := enginebackend.New(enginebackend.Config{Engine: e, Queues: []string{"a", "b"}})
	if s, _ := two.Sample(ctx); s.Queue != "" || !slices.Equal(s.Charted, []string{"a", "b"}) {
		t.Errorf("a fleet of two queues: queue %q, charted %q; want \"\", [a b]", s.Queue, s.Charted)
	}
	if all.Decisions(10) != nil || all.Workers() != nil {
		t.Error("decisions or workers without a source")
	}
}

func TestSendPurgeQueues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := queue.Open(ctx, queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.CreateQueue(ctx, "jobs", nil, nil)
	e.CreateQueue(ctx, "orders.fifo", map[string]string{"FifoQueue": "true"}, nil)
	b, _ := enginebackend.New(enginebackend.Config{Engine: e, QueueURL: func(n string) string { return "http://q/" + n }})
	for _, q := range []string{"jobs", "orders.fifo", "orders.fifo"} {
		if id, err := b.Send(ctx, q, "same body"); err != nil || id == "" {
			t.Fatalf("send to %s: %q, %v", q, id, err)
		}
	}
	qs, err := b.Queues(ctx)
	if err != nil || len(qs) != 2 {
		t.Fatalf("queues = %+v, %v", qs, err)
	}
	for _, q := range qs {
		want := map[string]string{"jobs": "1", "orders.fifo": "2"}[q.Name]
		if q.Attributes["ApproximateNumberOfMessages"] != want || q.URL != "http://q/"+q.Name {
			t.Errorf("%s: ApproximateNumberOfMessages %q, URL %q; want %q", q.Name, q.Attributes["ApproximateNumberOfMessages"], q.URL, want)
		}
	}
	if err := b.Purge(ctx, "orders.fifo"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "nope", "x"); !errors.Is(err, &queue.Error{Code: queue.ErrQueueDoesNotExist}) {
		t.Errorf("send to a missing queue: %v", err)
	}
	if err := b.Purge(ctx, "nope"); !errors.Is(err, &queue.Error{Code: queue.ErrQueueDoesNotExist}) {
		t.Errorf("purge of a missing queue: %v", err)
	}
	if _, err := enginebackend.New(enginebackend.Config{}); err == nil {
		t.Error("New without an engine succeeded")
	}
}
