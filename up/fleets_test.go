package up

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/testwait"
)

// Two fleets on two queues in one qscale up, each of real qscale worker
// processes and sized by its own queue's backlog: a burst on queue a
// scales fleet a out and leaves fleet b at zero; the console shows both
// (a dashboard and decisions each, metrics by fleet).
func TestTwoFleetsEachSizedByItsOwnQueue(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues: [{name: a}, {name: b}]
fleets:
  - name: fleet-a
    queue: a
    worker: {demo: 20ms, flags: ["--wait", "1"], stopGrace: 20s}
    maxCapacity: 3
    interval: 200ms
    policies: [{targetTracking: {TargetValue: 50, ScaleOutCooldown: 0, ScaleInCooldown: 0}}]
  - name: fleet-b
    queue: b
    worker: {demo: 20ms, flags: ["--wait", "1"], stopGrace: 20s}
    maxCapacity: 3
    interval: 200ms
    policies: [{targetTracking: {TargetValue: 50, ScaleOutCooldown: 0, ScaleInCooldown: 0}}]
`)
	out := &syncBuffer{}
	s := startSystem(t, cfg, out)
	if got := strings.Join(s.Fleets(), ","); got != "fleet-a,fleet-b" {
		t.Fatalf("fleets %s", got)
	}
	state := func(name string) autoscale.FleetState {
		st, err := s.FleetState(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	qa, err := s.Engine().Queue("a")
	if err != nil {
		t.Fatal(err)
	}
	const messages = 300
	burst(t, qa, messages)
	maxA, maxB := 0, 0
	testwait.For(t, 60*time.Second, "queue a to drain", func() bool {
		maxA = max(maxA, state("fleet-a").Running)
		maxB = max(maxB, state("fleet-b").Desired)
		return qa.Stats().Deleted == messages
	})
	if maxA < 2 {
		t.Errorf("fleet a ran at most %d workers for a backlog of %d at 50 per worker", maxA, messages)
	}
	// Fleet b decided all along, on its own empty queue.
	ds := s.FleetController("fleet-b").Decisions(1000)
	if len(ds) < 5 {
		t.Fatalf("fleet b made %d decisions", len(ds))
	}
	for _, d := range ds {
		if d.To != 0 || d.Observation.Queue.Visible != 0 {
			t.Fatalf("fleet b decided %d workers on %d visible messages: %+v", d.To, d.Observation.Queue.Visible, d)
		}
	}
	if maxB != 0 || state("fleet-b").Size() != (autoscale.FleetState{}) {
		t.Errorf("fleet b grew to %d on an empty queue", maxB)
	}
	if !strings.Contains(out.String(), "fleet-a: scale out 0 ->") || strings.Contains(out.String(), "fleet-b: scale out") {
		t.Errorf("the narration should name fleet a's scale-out alone:\n%s", out.String())
	}

	get := func(path string) (int, string) {
		t.Helper()
		return httpGet(t, s.ConsoleURL()+path)
	}
	code, body := get("/api/fleets")
	var index struct {
		Fleets []struct {
			Name, Dashboard string
			Queues          []string
		}
	}
	if err := json.Unmarshal([]byte(body), &index); code != 200 || err != nil || len(index.Fleets) != 2 ||
		index.Fleets[1].Name != "fleet-b" || index.Fleets[1].Dashboard != "/fleets/fleet-b/" || index.Fleets[1].Queues[0] != "b" {
		t.Fatalf("/api/fleets: %d %s (%v)", code, body, err)
	}
	for _, f := range []string{"fleet-a", "fleet-b"} {
		if code, body := get("/fleets/" + f + "/"); code != 200 || !strings.Contains(body, "<html") {
			t.Errorf("%s's dashboard: %d %.100s", f, code, body)
		}
		code, body := get("/fleets/" + f + "/api/decisions")
		var ds []autoscale.Decision
		if err := json.Unmarshal([]byte(body), &ds); code != 200 || err != nil || len(ds) == 0 {
			t.Fatalf("%s's decisions: %d %.200s (%v)", f, code, body, err)
		}
		scaled := false
		for _, d := range ds {
			scaled = scaled || d.To > 0
		}
		if scaled != (f == "fleet-a") {
			t.Errorf("%s's decisions (scaled out: %v) are not its own", f, scaled)
		}
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`qscale_fleet_workers{fleet="fleet-a",queue="a",state="desired"}`,
		`qscale_fleet_workers{fleet="fleet-b",queue="b",state="desired"} 0`,
		`qscale_autoscale_decisions_total{direction="out",fleet="fleet-a",rule=`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `qscale_autoscale_decisions_total{direction="out",fleet="fleet-b"`) {
		t.Error("/metrics counts a scale-out of fleet b")
	}

	// Pause fleet b from its dashboard: fleet a stays running.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.ConsoleURL()+"/fleets/fleet-b/api/pause", nil)
	req.Header.Set("X-Qscale-Csrf", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pause fleet b: %d", resp.StatusCode)
	}
	if b, _ := s.FleetController("fleet-b").Paused(); !b {
		t.Error("fleet b is not paused")
	}
	if a, _ := s.FleetController("fleet-a").Paused(); a {
		t.Error("pausing fleet b paused fleet a")
	}
	if _, metrics := get("/metrics"); !strings.Contains(metrics, `qscale_autoscale_paused{fleet="fleet-b",queue="b"} 1`) {
		t.Error("/metrics does not show fleet b paused")
	}
}

// A fleet fed by two queues is sized by their summed backlog, and its
// workers (real qscale worker processes given both queue URLs) drain
// both.
func TestFleetOfTwoQueuesSumsTheirBacklogs(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "off"}
queues: [{name: a}, {name: b}]
fleets:
  - queues: [a, b]
    worker: {demo: 10ms, flags: ["--wait", "1"], stopGrace: 20s}
    maxCapacity: 10
    interval: 200ms
    policies: [{targetTracking: {TargetValue: 10, ScaleOutCooldown: 0, ScaleInCooldown: 0}}]
`)
	s := startSystem(t, cfg, nil)
	if got := s.Fleets(); len(got) != 1 || got[0] != "a+b" {
		t.Fatalf("fleets %v; want the default name a+b", got)
	}
	qa, _ := s.Engine().Queue("a")
	qb, _ := s.Engine().Queue("b")
	// Paused while both bursts arrive, so that no worker takes a message
	// before a tick has seen both (a loaded machine can delay a tick past
	// a worker's start).
	s.Controller().Pause("test")
	burst(t, qa, 30)
	burst(t, qb, 20)
	testwait.For(t, 20*time.Second, "a decision on both backlogs", func() bool {
		for _, d := range s.Controller().Decisions(100) {
			if q := d.Observation.Queue; q.Visible+q.InFlight == 50 {
				return true
			}
		}
		return false
	})
	s.Controller().Resume()
	testwait.For(t, 60*time.Second, "both queues to drain", func() bool {
		return qa.Stats().Deleted == 30 && qb.Stats().Deleted == 20
	})
}
