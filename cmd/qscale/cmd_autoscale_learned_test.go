package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
)

// qscale autoscale seeds a fleet's controller with the times kept in its
// learnedFile (relative to the configuration file), and writes them back
// when it stops.
func TestAutoscaleKeepsLearnedTimes(t *testing.T) {
	url := queueWith(t, 0)
	dir := t.TempDir()
	learned := filepath.Join(dir, "learned.json")
	if err := os.WriteFile(learned, []byte(`{"processingTime":"250ms","startupTime":"4s"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "autoscale.yaml")
	if err := os.WriteFile(cfg, []byte(`fleets:
  - name: jobs
    queue: {url: `+url+`}
    memory: {}
    maxCapacity: 4
    interval: 100ms
    learnedFile: learned.json
    policies: [{queueing: {acceptableWait: 10s}}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs once the process has stopped.
	t.Cleanup(func() {
		b, err := os.ReadFile(learned)
		if err != nil || strings.TrimSpace(string(b)) != `{"processingTime":"250ms","startupTime":"4s"}` {
			t.Errorf("learned file after the stop: %q, %v", b, err)
		}
	})
	p := startAutoscale(t, cfg)
	testwait.For(t, 20*time.Second, "a decision", func() bool { return len(p.fleetDecisions(t, "jobs")) > 0 })
	d := p.fleetDecisions(t, "jobs")[0]
	if d.Observation.Queue.ProcessingTime != 250*time.Millisecond || d.Observation.StartupTime != 4*time.Second {
		t.Fatalf("first decision: processing %s, start-up %s; want the kept 250ms and 4s", d.Observation.Queue.ProcessingTime, d.Observation.StartupTime)
	}
	os.Remove(learned)
}
