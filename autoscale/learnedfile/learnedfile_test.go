package learnedfile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
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
	if got := Load(path, log); got != (autoscale.Learned{}) || logs.Len() != 0 {
		t.Fatalf("missing file: %+v, log %q", got, logs.String())
	}
	want := autoscale.Learned{ProcessingTime: 150 * time.Millisecond, StartupTime: 7 * time.Second}
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != `{"processingTime":"150ms","startupTime":"7s"}`+"\n" {
		t.Fatalf("file %q", b)
	}
	if got := Load(path, log); got != want {
		t.Fatalf("loaded %+v, want %+v", got, want)
	}
	for _, bad := range []string{`{"processingTime":"soon"}`, `{"startupTime":"-1s"}`, `not json`} {
		os.WriteFile(path, []byte(bad), 0o644)
		logs.Reset()
		if got := Load(path, log); got != (autoscale.Learned{}) || !strings.Contains(logs.String(), "learns again") {
			t.Fatalf("%s: %+v, log %q", bad, got, logs.String())
		}
	}
}

// The keeper writes what the decisions show when it changed, at most once
// a minute.
func TestLearnedKeeperWritesOnChangeAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jobs.json")
	k := NewKeeper(path, autoscale.Learned{}, slog.New(slog.DiscardHandler))
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	decide := func(after time.Duration, pt, st time.Duration) {
		var d autoscale.Decision
		d.Time = at.Add(after)
		d.Observation.Queue.ProcessingTime, d.Observation.StartupTime = pt, st
		k.Observe(d)
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
		l := Load(path, slog.New(slog.DiscardHandler))
		if l.ProcessingTime < 0 || l.StartupTime < 0 {
			t.Fatalf("loaded %+v from %q", l, b)
		}
	})
}
