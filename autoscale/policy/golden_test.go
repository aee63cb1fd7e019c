package policy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenDecisions runs the AWS policies users bring (target tracking and both step-scaling forms) together through a scripted
// burst and records every proposal and outcome with its explanation.
func TestGoldenDecisions(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/seed000_config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseTargetTracking(data)
	if err != nil {
		t.Fatal(err)
	}
	tt, _ := NewTargetTracking("backlog100", cfg)
	lat, _ := NewLatency("slo", LatencyConfig{AcceptableWait: Duration(10 * time.Second)})
	ps := append([]Policy{tt, lat}, seed001(t)...)
	set := NewSet(Bounds{Min: 0, Max: 50}, ps...)
	w := &world{}
	// visible messages over time, in 10 s steps: a burst that drains.
	script := []int{0, 1, 1500, 3000, 2500, 1800, 900, 300, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	var b bytes.Buffer
	now := t0
	for i, v := range script {
		now = now.Add(10 * time.Second)
		x := w.input(now, i, v)
		x.ProcessingTime = 100 * time.Millisecond
		o, next := set.Decide(x)
		set.Commit(x, o, next, true)
		fmt.Fprintf(&b, "t=%3ds visible=%d capacity=%d running=%d -> %d [%s] %s\n", (i+1)*10, v, x.Capacity, x.Running, o.Desired, o.Rule, o.Reason)
		for _, p := range o.Proposals {
			fmt.Fprintf(&b, "    %-14s %3d %-20s %s\n", p.Policy, p.Desired, p.Rule, p.Reason)
		}
		w.set(o.Desired, i, 2)
	}
	path := "testdata/decisions.golden"
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("decisions differ from %s (run go test -update after checking):\n%s", path, b.String())
	}
}
