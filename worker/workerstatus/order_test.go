package workerstatus_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/worker/workerstatus"
)

var t0 = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

func report(st workerstatus.State, since time.Duration, inFlight int) workerstatus.Report {
	return workerstatus.Report{Version: workerstatus.Version, State: st, Since: t0.Add(since), InFlight: inFlight}
}

func ids(cs []workerstatus.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestClass(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    workerstatus.Candidate
		want workerstatus.Class
	}{
		{"starting", workerstatus.Candidate{Starting: true}, workerstatus.ClassStarting},
		{"starting wins over a stale report", workerstatus.Candidate{Starting: true, Report: report(workerstatus.Busy, 0, 3)}, workerstatus.ClassStarting},
		{"stopped", workerstatus.Candidate{Report: report(workerstatus.Stopped, 0, 0)}, workerstatus.ClassLeaving},
		{"draining, nothing held", workerstatus.Candidate{Report: report(workerstatus.Draining, 0, 0)}, workerstatus.ClassLeaving},
		{"draining with messages", workerstatus.Candidate{Report: report(workerstatus.Draining, 0, 2)}, workerstatus.ClassBusy},
		{"idle", workerstatus.Candidate{Report: report(workerstatus.Idle, 0, 0)}, workerstatus.ClassIdle},
		{"idle holding a prefetched message", workerstatus.Candidate{Report: report(workerstatus.Idle, 0, 1)}, workerstatus.ClassBusy},
		{"busy", workerstatus.Candidate{Report: report(workerstatus.Busy, 0, 1)}, workerstatus.ClassBusy},
		{"unreadable", workerstatus.Candidate{Err: errors.New("connection refused")}, workerstatus.ClassUnknown},
		{"unknown state", workerstatus.Candidate{Report: report("sleeping", 0, 0)}, workerstatus.ClassUnknown},
		{"other version", workerstatus.Candidate{Report: workerstatus.Report{Version: 2, State: workerstatus.Idle}}, workerstatus.ClassUnknown},
		{"no version", workerstatus.Candidate{Report: workerstatus.Report{State: workerstatus.Idle}}, workerstatus.ClassUnknown},
	} {
		if got := tc.c.Class(); got != tc.want {
			t.Errorf("%s: class %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The one scale-in order, on a fleet with one worker of every kind.
func TestOrder(t *testing.T) {
	t.Parallel()
	down := errors.New("timeout")
	in := []workerstatus.Candidate{
		{ID: "busy-3", Report: report(workerstatus.Busy, -time.Minute, 3)},
		{ID: "busy-1-old", Report: report(workerstatus.Busy, -time.Hour, 1)},
		{ID: "busy-1-new", Report: report(workerstatus.Busy, -time.Second, 1)},
		{ID: "down-a", Err: down},
		{ID: "idle-new", Report: report(workerstatus.Idle, -time.Second, 0)},
		{ID: "prefetched", Report: report(workerstatus.Idle, -time.Hour, 2)},
		{ID: "idle-old", Report: report(workerstatus.Idle, -time.Hour, 0)},
		{ID: "strange", Report: report("sleeping", 0, 0)},
		{ID: "stopped", Report: report(workerstatus.Stopped, -time.Second, 0)},
		{ID: "draining", Report: report(workerstatus.Draining, -time.Minute, 0)},
		{ID: "draining-holding", Report: report(workerstatus.Draining, -time.Minute, 1)},
		{ID: "starting-old", Starting: true, StartedAt: t0.Add(-time.Minute)},
		{ID: "starting-new", Starting: true, StartedAt: t0},
		{ID: "down-b", Err: down},
	}
	orig := slices.Clone(in)
	got := ids(workerstatus.Order(in))
	want := []string{
		"starting-new", "starting-old", // newest first
		"draining", "stopped", // leaving: longest first
		"idle-old", "idle-new", // longest idle first
		"down-a", "strange", "down-b", // unknown: as given
		// busy: fewest held, then busy the shortest first
		"busy-1-new", "draining-holding", "busy-1-old", "prefetched", "busy-3",
	}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	if !slices.EqualFunc(in, orig, func(a, b workerstatus.Candidate) bool { return a.ID == b.ID }) {
		t.Error("Order changed its argument")
	}
	if n := workerstatus.CountBusy(in); n != 5 {
		t.Errorf("CountBusy = %d, want 5", n)
	}
}

// Small fleets: each row is the given order and the removal order.
func TestOrderTable(t *testing.T) {
	t.Parallel()
	idle := func(id string, since time.Duration) workerstatus.Candidate {
		return workerstatus.Candidate{ID: id, Report: report(workerstatus.Idle, since, 0)}
	}
	busy := func(id string, n int) workerstatus.Candidate {
		return workerstatus.Candidate{ID: id, Report: report(workerstatus.Busy, 0, n)}
	}
	for _, tc := range []struct {
		name string
		in   []workerstatus.Candidate
		want []string
	}{
		{"empty", nil, []string{}},
		{"idle before busy whatever the input order", []workerstatus.Candidate{busy("b", 1), idle("i", 0)}, []string{"i", "b"}},
		{"a stopped worker before an idle one", []workerstatus.Candidate{idle("i", -time.Hour), {ID: "s", Report: report(workerstatus.Stopped, 0, 0)}}, []string{"s", "i"}},
		{"an unreadable worker kept over idle, removed before busy", []workerstatus.Candidate{busy("b", 1), {ID: "u", Err: errors.New("refused")}, idle("i", 0)}, []string{"i", "u", "b"}},
		{"ties keep the given order", []workerstatus.Candidate{idle("x", 0), idle("y", 0), idle("z", 0)}, []string{"x", "y", "z"}},
		{"busy: fewest messages first", []workerstatus.Candidate{busy("b3", 3), busy("b1", 1), busy("b2", 2)}, []string{"b1", "b2", "b3"}},
	} {
		if got := ids(workerstatus.Order(tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// ReadAll reads every worker not starting, at most limit at once.
func TestReadAll(t *testing.T) {
	t.Parallel()
	cs := []workerstatus.Candidate{{ID: "a"}, {ID: "s", Starting: true}, {ID: "b"}, {ID: "c"}}
	var (
		mu        sync.Mutex // guards now, most, calls
		now, most int
		calls     []string
	)
	err := workerstatus.ReadAll(t.Context(), cs, 2, func(_ context.Context, i int) (workerstatus.Report, error) {
		mu.Lock()
		now++
		most = max(most, now)
		calls = append(calls, cs[i].ID)
		mu.Unlock()
		defer func() { mu.Lock(); now--; mu.Unlock() }()
		if cs[i].ID == "c" {
			return workerstatus.Report{}, errors.New("refused")
		}
		return report(workerstatus.Idle, 0, 0), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(calls)
	if !slices.Equal(calls, []string{"a", "b", "c"}) || most > 2 {
		t.Fatalf("reads %v, at most %d at once; want a, b, c, at most 2", calls, most)
	}
	if cs[0].Report.State != workerstatus.Idle || cs[1].Report.State != "" || cs[3].Err == nil {
		t.Fatalf("results %+v", cs)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := workerstatus.ReadAll(ctx, cs, 1, func(ctx context.Context, i int) (workerstatus.Report, error) { return workerstatus.Report{}, ctx.Err() }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
