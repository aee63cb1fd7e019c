package dashboard_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

type logEntry struct {
	Entry uint64
	Seq   uint64
	From  int
	To    int
	Ticks int
	Text  string
}

func decisionsOf(t *testing.T, s *system) []logEntry {
	t.Helper()
	var ds []logEntry
	if err := json.Unmarshal([]byte(readAll(t, s.do(t, "GET", "/api/decisions?n=100", ""))), &ds); err != nil {
		t.Fatal(err)
	}
	return ds
}

// A restarted dashboard (qscale up stopped and started again on its data
// directory) keeps its charts' history and its decision log; new entries
// are numbered after the old ones, and an idle autoscaler's holds stay one
// entry, so the changes before the restart stay in view.
func TestRestartKeepsHistoryAndDecisions(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "dashboard", "state.gob")
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := setup(t, setupOptions{clock: clock.NewFake(start), state: state})
	clk := s.clk.(*clock.Fake)
	ctx := t.Context()
	for i := range 20 {
		clk.Advance(time.Second)
		if i < 5 {
			s.jobs.Send(ctx, queue.SendInput{Body: "x"})
		}
		s.ctl.Tick(ctx)
		s.dash.SampleNow(ctx)
	}
	before := decisionsOf(t, s)
	if len(before) < 2 || len(before) > 6 {
		t.Fatalf("20 ticks make %d entries, want a few (holds summarised): %+v", len(before), before)
	}
	if err := s.dash.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Started again an hour later, with a new autoscaler counting from 1.
	s2 := setup(t, setupOptions{clock: clock.NewFake(start.Add(time.Hour)), state: state})
	after := decisionsOf(t, s2)
	if len(after) != len(before) || after[0] != before[0] {
		t.Fatalf("after a restart: %+v, want %+v", after, before)
	}
	var hist struct {
		Fine struct{ T []int64 }
	}
	if err := json.Unmarshal([]byte(readAll(t, s2.do(t, "GET", "/api/history", ""))), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Fine.T) != 20 || hist.Fine.T[0] != start.Unix()+1 {
		t.Fatalf("history after a restart: %d points from %v", len(hist.Fine.T), hist.Fine.T)
	}
	s2.ctl.Tick(ctx)
	now := decisionsOf(t, s2)
	if now[0].Entry != before[0].Entry+1 || now[0].Seq != 1 {
		t.Fatalf("first entry after the restart %+v, want entry %d", now[0], before[0].Entry+1)
	}

	// A damaged file is set aside, and the dashboard starts empty.
	if err := os.WriteFile(state, []byte("not a state file"), 0o644); err != nil {
		t.Fatal(err)
	}
	s3 := setup(t, setupOptions{state: state})
	if ds := decisionsOf(t, s3); len(ds) != 0 {
		t.Fatalf("decisions from a damaged file: %+v", ds)
	}
	if b, err := os.ReadFile(state + ".bad"); err != nil || !strings.HasPrefix(string(b), "not a state") {
		t.Fatalf("damaged file not set aside: %v", err)
	}
}
