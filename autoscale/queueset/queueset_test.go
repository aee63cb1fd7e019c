package queueset_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/queueset"
)

type fixed struct {
	st  autoscale.QueueStats
	err error
}

func (f fixed) Observe(context.Context) (autoscale.QueueStats, error) { return f.st, f.err }

func TestSumAddsTheBacklogs(t *testing.T) {
	t.Parallel()
	a := autoscale.QueueStats{Visible: 100, InFlight: 4, Delayed: 1, OldestAge: 3 * time.Second, ArrivalRate: 10, CompletionRate: 30, ProcessingTime: 100 * time.Millisecond}
	b := autoscale.QueueStats{Visible: 50, InFlight: 2, OldestAge: 9 * time.Second, ArrivalRate: 5, CompletionRate: 10, ProcessingTime: 500 * time.Millisecond}
	s, err := queueset.New(queueset.Sum, queueset.Member{Name: "a", Source: fixed{st: a}}, queueset.Member{Name: "b", Source: fixed{st: b}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Processing time weighted by completions: (30*0.1 + 10*0.5) / 40 = 0.2 s.
	want := autoscale.QueueStats{Visible: 150, InFlight: 6, Delayed: 1, OldestAge: 9 * time.Second, ArrivalRate: 15, CompletionRate: 40, ProcessingTime: 200 * time.Millisecond}
	if got != want {
		t.Fatalf("sum:\n got %+v\nwant %+v", got, want)
	}
	if rs := s.Readings(); len(rs) != 2 || rs[0].Name != "a" || rs[0].Stats != a || rs[1].Name != "b" || rs[1].Stats != b {
		t.Fatalf("readings %+v", rs)
	}
}

func TestWorstTakesEachSignalsWorst(t *testing.T) {
	t.Parallel()
	a := autoscale.QueueStats{Visible: 100, OldestAge: 3 * time.Second, ProcessingTime: 100 * time.Millisecond}
	b := autoscale.QueueStats{Visible: 50, InFlight: 7, OldestAge: 9 * time.Second, ProcessingTime: 500 * time.Millisecond}
	got := queueset.Of(queueset.Worst, a, b)
	want := autoscale.QueueStats{Visible: 100, InFlight: 7, OldestAge: 9 * time.Second, ProcessingTime: 500 * time.Millisecond}
	if got != want {
		t.Fatalf("worst:\n got %+v\nwant %+v", got, want)
	}
	if one := queueset.Of(queueset.Worst, a); one != a {
		t.Fatalf("one queue: %+v", one)
	}
}

func TestOneUnreadableQueueFailsTheObservation(t *testing.T) {
	t.Parallel()
	s, err := queueset.New(queueset.Sum,
		queueset.Member{Name: "a", Source: fixed{st: autoscale.QueueStats{Visible: 5}}},
		queueset.Member{Name: "b", Source: fixed{err: errors.New("access denied")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Observe(context.Background()); err == nil || !strings.Contains(err.Error(), "queue b: access denied") {
		t.Fatalf("err %v; want it to name queue b", err)
	}
	if _, err := queueset.New(queueset.Sum); err == nil {
		t.Fatal("an empty set was accepted")
	}
}
