package autoscale_test

import (
	"context"
	"fmt"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// fixedQueue is a QueueSource that always reports the same backlog.
type fixedQueue struct{ visible int }

func (q fixedQueue) Observe(context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{Visible: q.visible}, nil
}

// A controller ticked by hand on a fake clock: the backlog wakes the fleet
// from zero straight to the size the target asks for (target tracking alone
// never leaves zero); the workers then count as starting.
func ExampleController() {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fleet := memfleet.New(clk, 30*time.Second)
	tt, _ := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100})
	c, _ := autoscale.New(autoscale.Options{
		Source: fixedQueue{visible: 1500}, Fleet: fleet, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Min: 0, Max: 50}, Clock: clk,
	})
	for range 3 {
		d := c.Tick(ctx)
		fmt.Printf("%d -> %d %s\n", d.From, d.To, d.Rule)
		clk.Advance(time.Second)
	}
	// Output:
	// 0 -> 15 wake
	// 15 -> 15 hold
	// 15 -> 15 hold
}

// Start runs the loop in the background; Decisions serves a dashboard.
func ExampleController_Start() {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fleet := memfleet.New(clk, 0)
	lat, _ := policy.NewLatency("slo", policy.LatencyConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	ticked := make(chan struct{}, 1)
	c, _ := autoscale.New(autoscale.Options{
		Source: fixedQueue{visible: 250}, Fleet: fleet, Policies: []policy.Policy{lat},
		Bounds: policy.Bounds{Min: 1, Max: 10}, Clock: clk,
		OnDecision: func(autoscale.Decision) { ticked <- struct{}{} },
	})
	if err := c.Start(context.Background()); err != nil {
		panic(err)
	}
	<-ticked
	c.Stop(context.Background())
	for _, d := range c.Decisions(10) {
		fmt.Println(d.From, "->", d.To, d.Rule)
	}
	// Output: 0 -> 3 wake
}

// A scheduled window raises the minimum on weekday mornings in Paris.
func ExampleSchedule_Bounds() {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	morning, err := autoscale.ParseCron("0 8 * * mon-fri", paris)
	if err != nil {
		panic(err)
	}
	five := 5
	s := autoscale.Schedule{{Name: "morning", Start: morning, Duration: 90 * time.Minute, Min: &five}}
	base := policy.Bounds{Min: 0, Max: 20}
	for _, at := range []string{"2026-01-07T07:59:00+01:00", "2026-01-07T08:30:00+01:00", "2026-01-10T08:30:00+01:00"} {
		t, _ := time.Parse(time.RFC3339, at)
		b, why := s.Bounds(t, base)
		line := fmt.Sprintf("%s %d..%d", t.Weekday(), b.Min, b.Max)
		if why != "" {
			line += ": " + why
		}
		fmt.Println(line)
	}
	// Output:
	// Wednesday 0..20
	// Wednesday 5..20: schedule 'morning' raises min to 5 until 09:30 CET
	// Saturday 0..20
}
