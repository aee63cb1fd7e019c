package ecsfleet_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker/workerstatus"
)

type emptyQueue struct{}

func (emptyQueue) Observe(context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{}, nil
}

// Eight tasks, five of whose workers hold long messages, and an empty
// queue: the controller scales to five with exactly the busy tasks
// protected, holds there while they work, and scales in once they are done.
func TestBusyFloorProtectsExactlyTheBusyTasks(t *testing.T) {
	t.Parallel()
	e := &recordedECS{desired: 8}
	states := map[string]workerstatus.State{}
	var busyARNs []string
	for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"} {
		arn := "arn:" + ip
		e.tasks = append(e.tasks, fakeTask{arn, "RUNNING", ip})
		states[ip] = workerstatus.Idle
		if i%3 != 0 { // 2, 3, 5, 6, 8 busy
			states[ip] = workerstatus.Busy
			busyARNs = append(busyARNs, arn)
		}
	}
	f, ws := setupRecorded(t, e, states)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	zero := 0
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleInCooldown: &zero})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := autoscale.New(autoscale.Options{Source: emptyQueue{}, Fleet: f, Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Min: 0, Max: 10}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	d := ctrl.Tick(ctx)
	if d.To != 5 || d.Rule != autoscale.RuleBusyFloor || !d.Applied || !strings.HasPrefix(d.Reason, "kept 5: 5 workers hold messages") {
		t.Fatalf("with 5 busy tasks and no backlog: %+v", d)
	}
	w := e.writes()
	if len(w) != 3 {
		t.Fatalf("writes %+v, want protect, unprotect, update", w)
	}
	protected := []string{}
	for _, a := range w[0].Body["tasks"].([]any) {
		protected = append(protected, a.(string))
	}
	slices.Sort(protected)
	if w[0].Body["protectionEnabled"] != true || !slices.Equal(protected, busyARNs) {
		t.Fatalf("protected %v, want exactly the busy tasks %v", protected, busyARNs)
	}
	wantCall(t, w[2], "UpdateService", map[string]any{"cluster": "jobs", "service": "svc", "desiredCount": 5.0})

	// ECS stops the unprotected tasks.
	e.mu.Lock()
	e.tasks = slices.DeleteFunc(e.tasks, func(ft fakeTask) bool { return !slices.Contains(busyARNs, ft.arn) })
	e.mu.Unlock()
	for range 3 {
		clk.Advance(10 * time.Second)
		if d = ctrl.Tick(ctx); d.To != 5 || d.Error != "" {
			t.Fatalf("while 5 tasks are busy: %+v", d)
		}
	}
	if n := len(e.writes()); n != 3 {
		t.Fatalf("the fleet was changed while every task was busy: %+v", e.writes())
	}

	ws.mu.Lock()
	for ip := range ws.states {
		ws.states[ip] = workerstatus.Idle // the messages are done
	}
	ws.mu.Unlock()
	clk.Advance(10 * time.Second)
	if d = ctrl.Tick(ctx); d.To != 0 || !d.Applied || d.Error != "" {
		t.Fatalf("once the tasks are idle: %+v", d)
	}
}
