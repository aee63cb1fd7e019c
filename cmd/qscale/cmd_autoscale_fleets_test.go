package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
)

// fleetDecisions returns the named fleet's decisions from the console,
// newest first.
func (p *autoscaleProcess) fleetDecisions(t *testing.T, fleet string) []autoscale.Decision {
	t.Helper()
	code, body := p.get(t, "/fleets/"+fleet+"/api/decisions?n=50")
	if code != http.StatusOK {
		t.Fatalf("decisions of %s: %d %s", fleet, code, body)
	}
	var ds []autoscale.Decision
	if err := json.Unmarshal([]byte(body), &ds); err != nil {
		t.Fatalf("decisions of %s: %v: %s", fleet, err, body)
	}
	return ds
}

// One qscale autoscale process sizes two fleets from two queues of a
// qscale server, each from its own backlog, with a controller each: the
// console lists both, serves each one's decisions, pauses one alone, and
// labels the metrics by fleet.
func TestAutoscaleTwoFleets(t *testing.T) {
	endpoint := testserver.Start(t)
	api := sqsClient(endpoint)
	var urls []string
	for _, name := range []string{"a", "b"} {
		q, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, *q.QueueUrl)
	}
	sendTo(t, endpoint, urls[0], 40) // target tracking on 10 a worker wants 4
	doc := `fleets:
  - name: fleet-a
    queue: {url: %q}
    memory: {}
    maxCapacity: 8
    interval: 100ms
    policies: [{targetTracking: {TargetValue: 10, ScaleOutCooldown: 0}}]
  - name: fleet-b
    queue: {url: %q}
    memory: {}
    maxCapacity: 8
    interval: 100ms
    policies: [{targetTracking: {TargetValue: 10, ScaleOutCooldown: 0}}]
`
	path := writeConfig(t, "two.yaml", fmt.Sprintf(doc, urls[0], urls[1]))
	p := startAutoscale(t, path)

	testwait.For(t, 20*time.Second, "fleet a at 4", func() bool {
		ds := p.fleetDecisions(t, "fleet-a")
		return len(ds) > 0 && ds[0].Observation.Fleet.Desired == 4
	})
	bs := p.fleetDecisions(t, "fleet-b")
	if len(bs) == 0 {
		t.Fatal("fleet b made no decision")
	}
	for _, d := range bs {
		if d.To != 0 || d.Observation.Queue.Visible != 0 {
			t.Fatalf("fleet b decided %d on %d visible messages: its own queue is empty", d.To, d.Observation.Queue.Visible)
		}
	}
	code, body := p.get(t, "/api/fleets")
	if code != http.StatusOK || !strings.Contains(body, `"name":"fleet-a"`) || !strings.Contains(body, `"dashboard":"/fleets/fleet-b/"`) {
		t.Fatalf("/api/fleets: %d %s", code, body)
	}

	// Pause fleet b alone; a burst on b is then observed and not applied,
	// while fleet a goes on.
	if code, body := p.do(t, "POST", "/fleets/fleet-b/api/pause"); code != http.StatusOK {
		t.Fatalf("pause fleet b: %d %s", code, body)
	}
	sendTo(t, endpoint, urls[1], 30)
	testwait.For(t, 20*time.Second, "fleet b to see its burst while paused", func() bool {
		ds := p.fleetDecisions(t, "fleet-b")
		return len(ds) > 0 && ds[0].Observation.Queue.Visible == 30
	})
	if d := p.fleetDecisions(t, "fleet-b")[0]; d.Rule != autoscale.RulePaused || d.To != 0 || d.Observation.Fleet.Desired != 0 {
		t.Fatalf("paused fleet b changed: %+v", d)
	}
	_, metrics := p.get(t, "/metrics")
	for _, want := range []string{
		`qscale_autoscale_paused{fleet="fleet-b",queue="b"} 1`,
		`qscale_autoscale_paused{fleet="fleet-a",queue="a"} 0`,
		`qscale_fleet_workers{fleet="fleet-a",queue="a",state="desired"} 4`,
		`qscale_queue_messages{fleet="fleet-b",queue="b",state="visible"} 30`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := p.do(t, "POST", "/fleets/fleet-b/api/resume"); code != http.StatusOK {
		t.Fatalf("resume fleet b: %d %s", code, body)
	}
	testwait.For(t, 20*time.Second, "fleet b at 3 once resumed", func() bool {
		ds := p.fleetDecisions(t, "fleet-b")
		return len(ds) > 0 && ds[0].Observation.Fleet.Desired == 3
	})

	// SIGHUP with fleet a's maximum lowered to 2 and a third fleet added:
	// fleet a takes its new bound, fleet b keeps its 3, and the new fleet
	// is named as needing a restart.
	next := strings.Replace(fmt.Sprintf(doc, urls[0], urls[1]), "maxCapacity: 8", "maxCapacity: 2", 1) + fmt.Sprintf(`  - name: fleet-c
    queue: {url: %q}
    memory: {}
    maxCapacity: 1
    policies: [{targetTracking: {TargetValue: 10}}]
`, endpoint+"/000000000000/c")
	if err := os.WriteFile(path, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 20*time.Second, "fleet a at its new maximum of 2", func() bool {
		ds := p.fleetDecisions(t, "fleet-a")
		return len(ds) > 0 && ds[0].Observation.Fleet.Desired == 2
	})
	testwait.For(t, 20*time.Second, "the restart warning", func() bool { return p.logged("reload: these changes need a restart") })
	if !strings.Contains(p.output(), "fleet fleet-c added") {
		t.Errorf("the reload does not name the added fleet:\n%s", p.output())
	}
	if ds := p.fleetDecisions(t, "fleet-b"); ds[0].Observation.Fleet.Desired != 3 {
		t.Errorf("fleet b changed on fleet a's reload: %+v", ds[0])
	}
}

// A fleet under leader election is refused beside other fleets, with the
// field's path; fleets without it check as valid together, one line each.
func TestAutoscaleCheckSeveralFleets(t *testing.T) {
	t.Parallel()
	const two = `fleets:
  - name: a
    queue: {url: "http://127.0.0.1:9324/000000000000/a"}
    maxCapacity: 2
    policies: [{targetTracking: {TargetValue: 10}}]
    memory: {}
  - name: b
    queues: [{url: "http://127.0.0.1:9324/000000000000/b"}, {url: "http://127.0.0.1:9324/000000000000/c"}]
    queueCombine: worst
    maxCapacity: 2
    policies: [{targetTracking: {TargetValue: 10}}]
`
	var out strings.Builder
	path := writeConfig(t, "two.yaml", two+"    memory: {}\n")
	if err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "valid; fleet a (memory)") || !strings.Contains(out.String(), "valid; fleet b (memory)") {
		t.Fatalf("--check said %q; want a line per fleet", out.String())
	}
	path = writeConfig(t, "elected.yaml", two+"    kubernetes: {deployment: w, leaderElection: {}}\n")
	err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "fleets[1].kubernetes.leaderElection") {
		t.Fatalf("err %v; want the elected fleet refused beside another", err)
	}
}
