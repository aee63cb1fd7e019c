package up

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/testwait"
)

// TestSteadyLoadDoesNotFlap drives qscale up's default controller with a
// steady arrival rate from the real `qscale load --rate` and real worker
// processes. The fleet must settle and then stay put: a fleet that moves
// 3 -> 4 -> 3 every few seconds starts and stops a worker each time, which
// on ECS or Kubernetes is a billed task or a pod started for nothing. The
// first worker must start within a second of the first message, and the
// fleet must return to zero once the load stops.
func TestSteadyLoadDoesNotFlap(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "off"}
queues: [{name: steady}]
fleets:
  - queue: steady
    worker: {demo: 100ms, flags: ["--wait", "1"], stopGrace: 20s}
    minCapacity: 0
    maxCapacity: 20
    interval: 250ms
    policies:
      - queueing: {acceptableWait: 5s}
`)
	s := startSystem(t, cfg, &syncBuffer{})
	ctrl := s.FleetController("steady")
	if ctrl == nil {
		t.Fatalf("no controller for fleet steady; fleets: %v", s.Fleets())
	}
	state := func() autoscale.FleetState {
		st, err := s.FleetState(t.Context(), "steady")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// 20 messages a second at 0.1 s each need 2 busy workers on average; the
	// queueing policy adds what keeps the 99th percentile wait under 5 s.
	const load = 40 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), load+30*time.Second)
	defer cancel()
	gen := exec.CommandContext(ctx, qscaleBin(t), "load", "--queue", s.QueueURL("steady"), "--rate", "20/s", "--duration", load.String(), "--size", "64")
	out := &syncBuffer{}
	gen.Stdout, gen.Stderr = out, out
	start := time.Now()
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	loadDone := make(chan error, 1)
	go func() { loadDone <- gen.Wait() }()

	testwait.For(t, 5*time.Second, "the first worker to be asked for", func() bool { return state().Desired > 0 })
	if d := time.Since(start); d > 1500*time.Millisecond {
		// The load process needs a moment to start and send; the
		// controller itself must react within its tick.
		t.Errorf("first scale-out %v after the load started; want within a second of the first message", d.Round(time.Millisecond))
	}
	if err := <-loadDone; err != nil {
		t.Fatalf("qscale load: %v\n%s", err, out.String())
	}
	loadEnd := time.Now()
	testwait.For(t, 90*time.Second, "the fleet to return to zero", func() bool { return state().Size() == autoscale.FleetState{} })
	t.Logf("back to zero %v after the load stopped", time.Since(loadEnd).Round(time.Millisecond))

	q, err := s.Engine().Queue("steady")
	if err != nil {
		t.Fatal(err)
	}
	if c := q.Counts(); c.Visible != 0 || c.Inflight != 0 {
		t.Errorf("messages left in the queue: %+v", c)
	}

	// Count changes of direction while the load ran: one arrival episode
	// allows two (up, and down at the end) plus a settling step.
	var changes []autoscale.Decision
	for _, d := range ctrl.Decisions(100000) {
		if d.Changed() {
			changes = append(changes, d)
		}
	}
	reversals, dir := 0, 0
	for _, d := range changes {
		nd := 1
		if d.To < d.From {
			nd = -1
		}
		if dir != 0 && nd != dir {
			reversals++
		}
		dir = nd
	}
	if reversals > 3 {
		for _, d := range changes {
			t.Logf("%s %d -> %d: %s", d.Time.Format("15:04:05.000"), d.From, d.To, d.Reason)
		}
		t.Errorf("%d direction reversals over one steady arrival episode of %v (%d changes); want at most 3", reversals, load, len(changes))
	}
	t.Logf("%d changes, %d direction reversals", len(changes), reversals)
}
