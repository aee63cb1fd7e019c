package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
)

// qscale up --log-format json --worker-logs: every line on stderr is one
// JSON object, the workers' own records (which name their worker) and
// their handlers' output included.
func TestUpLogFormatJSONWithWorkers(t *testing.T) {
	t.Parallel()
	up, endpoint := startOneWorker(t, `{command: [sh, -c, "echo not json from the handler >&2; exit 3"],
      flags: ["--wait", "1", "--retry-delay", "0", "--log-level", "debug"]}`,
		"--log-format", "json", "--log-level", "debug", "--worker-logs")
	if out, code := qscaleRun(t, nil, "send", "--queue", "jobs", "--endpoint-url", endpoint, "hello"); code != 0 {
		t.Fatalf("qscale send: exit %d\n%s", code, out)
	}
	testwait.For(t, time.Minute, "a worker's record and its handler's output on stderr", func() bool {
		s := up.Stderr()
		return strings.Contains(s, `"worker":"w1"`) && strings.Contains(s, "not json from the handler")
	})
	if err := up.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("qscale up still runs 60 s after SIGINT:\n%s", up.Stderr())
	}
	sc := bufio.NewScanner(strings.NewReader(up.Stderr()))
	sc.Buffer(nil, 1<<20)
	lines, fromWorkers := 0, 0
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Errorf("stderr line %d is not JSON (%v): %s", lines+1, err, sc.Text())
		}
		if rec["worker"] == "w1" {
			fromWorkers++
		}
		lines++
	}
	if fromWorkers < 2 {
		t.Errorf("%d of %d lines name the worker; want its records and its handler's output:\n%s", fromWorkers, lines, up.Stderr())
	}
}
