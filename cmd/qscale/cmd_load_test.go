package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/producer/loadgen"
)

// The classic burst scenario, smaller: a burst, every message in the queue.
func TestLoadBurst(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "demo", nil)
	tio := newProducerTestIO("", clock.Real{})
	err := loadCommand(t.Context(), []string{"--queue", "demo", "--endpoint-url", endpoint, "--burst", "1005", "--size", "100", "--concurrency", "4"}, tio.producerIO)
	if err != nil {
		t.Fatalf("load: %v (stderr %s)", err, tio.errOut)
	}
	if v, _ := queueCounts(t, api, q); v != 1005 {
		t.Fatalf("visible %d, want 1005", v)
	}
	out := tio.out.String()
	for _, want := range []string{"endpoint  " + endpoint + " (set explicitly)", "sent      1005 of 1005 messages", "errors    0 (retries 0)", "latency   p50 ", "101 calls"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadUnknownQueue(t *testing.T) {
	t.Parallel()
	endpoint, _, _ := producerSetup(t, "demo", nil)
	tio := newProducerTestIO("", clock.Real{})
	err := loadCommand(t.Context(), []string{"--queue", "nope", "--endpoint-url", endpoint, "--burst", "10"}, tio.producerIO)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), `queue "nope" does not exist`) {
		t.Fatalf("err %v", err)
	}
}

func TestLoadBadFlags(t *testing.T) {
	t.Parallel()
	bad := [][]string{
		{"--burst", "10"}, // no queue
		{"--queue", "q"},  // no mode
		{"--queue", "q", "--burst", "10", "--rate", "5"},
		{"--queue", "q", "--rate", "5"}, // no duration
		{"--queue", "q", "--rate", "fast", "--duration", "1s"},
		{"--queue", "q", "--rate", "-5", "--duration", "1s"},
		{"--queue", "q", "--rate", "5/h", "--duration", "1s"},
		{"--queue", "q", "--rate", "0.1", "--duration", "1s"}, // no whole message
		{"--queue", "q", "--burst", "-1"},
		{"--queue", "q", "--burst", "10", "--duration", "1s"},
		{"--queue", "q", "--burst", "10", "--batch", "11"},
		{"--queue", "q", "--burst", "10", "--batch", "0"},
		{"--queue", "q", "--burst", "10", "--size", "0"},
		{"--queue", "q", "--burst", "10", "--size", "1048577"},
		{"--queue", "q", "--burst", "10", "--size", "200000"}, // 10 × 200 kB is over the batch limit
		{"--queue", "q", "--burst", "10", "--concurrency", "0"},
		{"--queue", "q", "--burst", "10", "extra"},
	}
	for _, args := range bad {
		_, err := parseLoadFlags(t.Context(), args, &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	o, err := parseLoadFlags(t.Context(), []string{"--queue", "q", "--endpoint-url", "http://127.0.0.1:1", "--rate", "600/m", "--duration", "30s"}, &bytes.Buffer{})
	// 10/s goes one message a call, ten calls a second.
	if err != nil || o.cfg.Rate != 10 || o.cfg.Total != 300 || o.cfg.Batch != 1 || o.where.URL != "http://127.0.0.1:1" {
		t.Fatalf("options %+v, endpoint %s, err %v", o.cfg, o.where, err)
	}
	o, err = parseLoadFlags(t.Context(), []string{"--queue", "q", "--endpoint-url", "http://127.0.0.1:1", "--burst", "7"}, &bytes.Buffer{})
	if err != nil || o.cfg.Batch != 10 || o.cfg.Total != 7 {
		t.Fatalf("burst options %+v, err %v", o.cfg, err)
	}
}

// Progress is one updating line on a terminal, a plain line per report
// otherwise.
func TestLoadProgressPrinter(t *testing.T) {
	t.Parallel()
	p := loadgen.Progress{Elapsed: 5 * time.Second, Sent: 250, Total: 600, Rate: 50}
	var plain bytes.Buffer
	pp := &progressPrinter{w: &plain}
	pp.print(p)
	pp.print(p)
	pp.done()
	if got := plain.String(); strings.Count(got, "\n") != 2 || strings.Contains(got, "\r") || !strings.Contains(got, "   5.0s  sent 250/600  50 msg/s  errors 0") {
		t.Fatalf("plain progress %q", got)
	}
	var live bytes.Buffer
	lp := &progressPrinter{w: &live, live: true}
	lp.print(p)
	lp.done()
	if got := live.String(); strings.Contains(got, "\n") || !strings.HasPrefix(got, "\r\033[K") || !strings.HasSuffix(got, "\r\033[K") {
		t.Fatalf("live progress %q", got)
	}
}
