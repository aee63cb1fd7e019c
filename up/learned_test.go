package up

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/learnedfile"
	"github.com/qscale/qscale/internal/testwait"
)

// qscale up with a data directory seeds each fleet's autoscaler with the
// times it learned before a restart, and writes them back when it stops.
func TestUpKeepsLearnedTimesAcrossARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "data", "autoscaler", "jobs.json")
	if err := learnedfile.Save(file, autoscale.Learned{ProcessingTime: 1234 * time.Millisecond, StartupTime: 7 * time.Second}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", dataDir: `+filepath.Join(dir, "data")+`}
console: {listen: "off"}
queues: [{name: jobs}]
fleets:
  - queue: jobs
    worker: {demo: 10ms}
    minCapacity: 0
    maxCapacity: 1
    policies:
      - queueing: {acceptableWait: 10s}
`)
	s := startSystem(t, cfg, nil)
	var d autoscale.Decision
	testwait.For(t, 10*time.Second, "a decision", func() bool { var ok bool; d, ok = s.LastDecision(); return ok })
	if d.Observation.Queue.ProcessingTime != 1234*time.Millisecond || d.Observation.StartupTime != 7*time.Second {
		t.Fatalf("first decision after the restart: processing %s, start-up %s; want the kept 1.234s and 7s",
			d.Observation.Queue.ProcessingTime, d.Observation.StartupTime)
	}
	os.Remove(file)
	stopSystem(t, s)
	if b, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(b)) != `{"processingTime":"1.234s","startupTime":"7s"}` {
		t.Fatalf("after Stop: %q, %v", b, err)
	}
}
