package up

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/testwait"
)

// The learned times survive a file round trip in a readable form; a
// missing file is nothing learned, and a damaged one is ignored with a
// warning rather than stopping qscale up.
func TestLearnedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "autoscaler", "jobs.json")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if got := loadLearned(path, log); got != (autoscale.Learned{}) || logs.Len() != 0 {
		t.Fatalf("missing file: %+v, log %q", got, logs.String())
	}
	want := autoscale.Learned{ProcessingTime: 150 * time.Millisecond, StartupTime: 7 * time.Second}
	if err := saveLearned(path, want); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != `{"processingTime":"150ms","startupTime":"7s"}`+"\n" {
		t.Fatalf("file %q", b)
	}
	if got := loadLearned(path, log); got != want {
		t.Fatalf("loaded %+v, want %+v", got, want)
	}
	for _, bad := range []string{`{"processingTime":"soon"}`, `{"startupTime":"-1s"}`, `not json`} {
		os.WriteFile(path, []byte(bad), 0o644)
		logs.Reset()
		if got := loadLearned(path, log); got != (autoscale.Learned{}) || !strings.Contains(logs.String(), "learns again") {
			t.Fatalf("%s: %+v, log %q", bad, got, logs.String())
		}
	}
}

// The keeper writes what the decisions show when it changed, at most once
// a minute.
func TestLearnedKeeperWritesOnChangeAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jobs.json")
	k := &learnedKeeper{path: path, log: slog.New(slog.DiscardHandler)}
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	decide := func(after time.Duration, pt, st time.Duration) {
		var d autoscale.Decision
		d.Time = at.Add(after)
		d.Observation.Queue.ProcessingTime, d.Observation.StartupTime = pt, st
		k.observe(d)
	}
	read := func() string { b, _ := os.ReadFile(path); return strings.TrimSpace(string(b)) }
	decide(time.Minute, 100*time.Millisecond, 5*time.Second)
	if got := read(); got != `{"processingTime":"100ms","startupTime":"5s"}` {
		t.Fatalf("first: %q", got)
	}
	decide(time.Minute+30*time.Second, 200*time.Millisecond, 5*time.Second)
	if got := read(); !strings.Contains(got, `"100ms"`) {
		t.Fatalf("written again within the minute: %q", got)
	}
	decide(2*time.Minute, 0, 5*time.Second) // no measurement: the last one stands
	if got := read(); got != `{"processingTime":"200ms","startupTime":"5s"}` {
		t.Fatalf("a minute later: %q", got)
	}
	os.Remove(path)
	decide(4*time.Minute, 200*time.Millisecond, 5*time.Second)
	if _, err := os.Stat(path); err == nil {
		t.Fatal("written again without a change")
	}
}

// qscale up with a data directory seeds each fleet's autoscaler with the
// times it learned before a restart, and writes them back when it stops.
func TestUpKeepsLearnedTimesAcrossARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "data", "autoscaler", "jobs.json")
	if err := saveLearned(file, autoscale.Learned{ProcessingTime: 1234 * time.Millisecond, StartupTime: 7 * time.Second}); err != nil {
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

// FuzzLoadLearned: whatever the file holds, loading it never panics and
// gives either nothing or non-negative times.
func FuzzLoadLearned(f *testing.F) {
	f.Add([]byte(`{"processingTime":"150ms","startupTime":"7s"}`))
	f.Add([]byte(`{"processingTime":"-1s"}`))
	f.Add([]byte(`{"startupTime":12}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "jobs.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		l := loadLearned(path, slog.New(slog.DiscardHandler))
		if l.ProcessingTime < 0 || l.StartupTime < 0 {
			t.Fatalf("loaded %+v from %q", l, b)
		}
	})
}
