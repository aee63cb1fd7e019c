package autoscale_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

func mustCron(t *testing.T, expr string, loc *time.Location) autoscale.Cron {
	t.Helper()
	c, err := autoscale.ParseCron(expr, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCronPrevNext(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		expr       string
		loc        *time.Location
		now        string
		prev, next string
	}{
		{"0 8 * * 1-5", time.UTC, "2026-01-07T09:30:00Z", "2026-01-07T08:00:00Z", "2026-01-08T08:00:00Z"},
		// Saturday: the last weekday 8:00 is Friday's; the next Monday's.
		{"0 8 * * mon-fri", time.UTC, "2026-01-10T12:00:00Z", "2026-01-09T08:00:00Z", "2026-01-12T08:00:00Z"},
		{"*/10 * * * *", time.UTC, "2026-01-01T00:25:30Z", "2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z"},
		{"9-59/10 * * * *", time.UTC, "2026-01-01T00:25:00Z", "2026-01-01T00:19:00Z", "2026-01-01T00:29:00Z"},
		// 08:00 in Paris is 07:00 UTC in winter.
		{"0 8 * * *", paris, "2026-01-07T07:30:00Z", "2026-01-07T07:00:00Z", "2026-01-08T07:00:00Z"},
		{"CRON_TZ=Europe/Paris 0 8 * * *", time.UTC, "2026-01-07T07:30:00Z", "2026-01-07T07:00:00Z", "2026-01-08T07:00:00Z"},
		// Day of month or day of week (Vixie cron): the 1st, or Sundays.
		{"0 0 1 * 0", time.UTC, "2026-01-05T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"},
		{"30 2 29 2 *", time.UTC, "2026-03-01T00:00:00Z", "", ""},
	} {
		c := mustCron(t, tc.expr, tc.loc)
		now := at(tc.now)
		prev, ok := c.Prev(now)
		if tc.prev == "" {
			if ok {
				t.Errorf("%s: Prev(%s) = %s, want none within a year", tc.expr, tc.now, prev)
			}
		} else if !ok || !prev.Equal(at(tc.prev)) {
			t.Errorf("%s: Prev(%s) = %s %v, want %s", tc.expr, tc.now, prev, ok, tc.prev)
		}
		next, ok := c.Next(now)
		if tc.next == "" {
			if ok && next.Year() < 2027 {
				t.Errorf("%s: Next(%s) = %s", tc.expr, tc.now, next)
			}
		} else if !ok || !next.Equal(at(tc.next)) {
			t.Errorf("%s: Next(%s) = %s %v, want %s", tc.expr, tc.now, next, ok, tc.next)
		}
	}
}

func TestCronRejects(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
		"5-1 * * * *", "*/0 * * * *", "a * * * *", "TZ=Nowhere/City * * * * *", "* * * * * *"} {
		if _, err := autoscale.ParseCron(expr, nil); err == nil {
			t.Errorf("ParseCron(%q) accepted", expr)
		}
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 8 * * 1-5", "*/10 * * * *", "CRON_TZ=Europe/Paris 0 8 * * *", "1,2,3-9/2 0 1 jan sun", "0 0 31 2 *"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := autoscale.ParseCron(expr, time.UTC)
		if err != nil {
			return
		}
		if p, ok := c.Prev(now); ok && (p.After(now) || !c.Matches(p)) {
			t.Fatalf("%q: Prev %s after now or not a match", expr, p)
		}
		if n, ok := c.Next(now); ok && (!n.After(now) || !c.Matches(n)) {
			t.Fatalf("%q: Next %s not after now or not a match", expr, n)
		}
	})
}

func ip(n int) *int { return &n }

func TestScheduleBounds(t *testing.T) {
	t.Parallel()
	s := autoscale.Schedule{
		{Name: "morning", Start: mustCron(t, "0 9 * * *", time.UTC), Duration: 30 * time.Minute, Min: ip(5)},
		{Name: "batch", Start: mustCron(t, "15 9 * * *", time.UTC), End: ptr(mustCron(t, "45 9 * * *", time.UTC)), Min: ip(8), Max: ip(80)},
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	base := policy.Bounds{Min: 0, Max: 50}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Duration
		want policy.Bounds
		why  string
	}{
		{8*time.Hour + 59*time.Minute, base, ""},
		{9*time.Hour + 10*time.Minute, policy.Bounds{Min: 5, Max: 50}, "schedule 'morning' raises min to 5 until 09:30"},
		{9*time.Hour + 20*time.Minute, policy.Bounds{Min: 8, Max: 80}, "schedule 'batch' raises min to 8 until 09:45; schedule 'batch' raises max to 80 until 09:45"},
		{9*time.Hour + 40*time.Minute, policy.Bounds{Min: 8, Max: 80}, "schedule 'batch' raises min to 8 until 09:45; schedule 'batch' raises max to 80 until 09:45"},
		{9*time.Hour + 45*time.Minute, base, ""},
	} {
		b, why := s.Bounds(day.Add(tc.at), base)
		if b != tc.want || why != tc.why {
			t.Errorf("at %s: %+v %q, want %+v %q", tc.at, b, why, tc.want, tc.why)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestScheduleValidate(t *testing.T) {
	t.Parallel()
	c := mustCron(t, "0 9 * * *", time.UTC)
	for _, a := range []autoscale.ScheduledAction{
		{Start: c, Duration: time.Minute, Min: ip(1)},
		{Name: "x", Start: c, Min: ip(1)},
		{Name: "x", Start: c, Duration: time.Minute, End: &c, Min: ip(1)},
		{Name: "x", Start: c, Duration: time.Minute},
		{Name: "x", Start: c, Duration: time.Minute, Min: ip(5), Max: ip(2)},
		{Name: "x", Start: c, Duration: time.Minute, Min: ip(-1)},
	} {
		if err := a.Validate(); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
}

// The controller applies an open window's min on the injected clock, says
// so in its decision, and lets the fleet go back once the window closes.
func TestControllerAppliesSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 1, 8, 59, 0, 0, time.UTC))
	fleet := memfleet.New(clk, 0)
	q, err := policy.NewQueueing("queueing", policy.QueueingConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := autoscale.New(autoscale.Options{
		Source: &source{}, Fleet: fleet, Policies: []policy.Policy{q}, Bounds: policy.Bounds{Min: 0, Max: 10}, Clock: clk,
		Schedule: autoscale.Schedule{{Name: "morning", Start: mustCron(t, "0 9 * * *", time.UTC), Duration: 30 * time.Minute, Min: ip(3)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := ctrl.Tick(ctx); d.To != 0 || d.Schedule != "" {
		t.Fatalf("before the window: %d (%s)", d.To, d.Schedule)
	}
	clk.Advance(time.Minute)
	d := ctrl.Tick(ctx)
	if d.To != 3 || d.Schedule != "schedule 'morning' raises min to 3 until 09:30" || !strings.HasPrefix(d.Reason, d.Schedule) {
		t.Fatalf("in the window: %d, %q, %q", d.To, d.Schedule, d.Reason)
	}
	clk.Advance(30 * time.Minute)
	if d := ctrl.Tick(ctx); d.To != 0 || d.Schedule != "" {
		t.Fatalf("after the window: %d (%s: %s)", d.To, d.Rule, d.Reason)
	}
}

// Reconfigure swaps the schedule between two ticks.
func TestReconfigureSwapsSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 10, 0, 0, time.UTC))
	q, err := policy.NewQueueing("queueing", policy.QueueingConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	bounds := policy.Bounds{Min: 0, Max: 10}
	ctrl, err := autoscale.New(autoscale.Options{Source: &source{}, Fleet: memfleet.New(clk, 0), Policies: []policy.Policy{q}, Bounds: bounds, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if d := ctrl.Tick(ctx); d.To != 0 {
		t.Fatalf("without a schedule: %d", d.To)
	}
	s := autoscale.Schedule{{Name: "morning", Start: mustCron(t, "0 9 * * *", time.UTC), Duration: time.Hour, Max: ip(20), Min: ip(2)}}
	if err := ctrl.Reconfigure(autoscale.Settings{Policies: []policy.Policy{q}, Bounds: bounds, Schedule: s}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if d := ctrl.Tick(ctx); d.To != 2 || !strings.Contains(d.Schedule, "raises min to 2 until 10:00") {
		t.Fatalf("with the schedule: %d (%s)", d.To, d.Schedule)
	}
	bad := autoscale.Schedule{{Name: "bad", Start: mustCron(t, "0 9 * * *", time.UTC)}}
	if err := ctrl.Reconfigure(autoscale.Settings{Policies: []policy.Policy{q}, Bounds: bounds, Schedule: bad}); err == nil {
		t.Fatal("an invalid schedule was accepted")
	}
}
