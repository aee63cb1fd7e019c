package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// --log-format picks the handler; bad values are usage errors.
func TestLogFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h, err := newLogHandler(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	slog.New(h).Info("hello", "n", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "hello" {
		t.Errorf("json: %q (%v)", buf.String(), err)
	}
	buf.Reset()
	h, _ = newLogHandler(&buf, "text", "warn")
	l := slog.New(h)
	l.Info("quiet")
	l.Warn("loud", "n", 1)
	if got := buf.String(); !strings.Contains(got, `level=WARN msg=loud n=1`) || strings.Contains(got, "quiet") {
		t.Errorf("text at warn: %q", got)
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "loud"}} {
		var ue usageError
		if _, err := newLogHandler(&buf, bad[0], bad[1]); !errors.As(err, &ue) {
			t.Errorf("%q: err %v, want a usage error", bad, err)
		}
	}
}

// A failure that repeats is said once at warn, then at debug, and its end
// once at info; a different failure is said again.
func TestOnceHandler(t *testing.T) {
	t.Parallel()
	for _, level := range []string{"info", "debug"} {
		var buf bytes.Buffer
		inner, _ := newLogHandler(&buf, "text", level)
		log := slog.New(newOnceHandler(inner)).With("fleet", "jobs")
		for range 3 {
			log.Warn("autoscale error", "error", "the queue q does not exist")
		}
		log.Debug("autoscale hold", "to", 0) // the controller's next tick: it recovered
		log.Debug("autoscale hold", "to", 0)
		log.Warn("autoscale error", "error", "cannot reach the queue")
		log.Warn("autoscale error", "error", "the queue q does not exist")
		out := buf.String()
		count := func(s string) int { return strings.Count(out, s) }
		if n := count("level=WARN msg=\"autoscale error\" fleet=jobs error=\"the queue q does not exist\""); n != 2 {
			t.Errorf("%s: the missing queue at warn %d times, want 2 (first, and again after another error):\n%s", level, n, out)
		}
		if n := count("level=WARN msg=\"autoscale error\" fleet=jobs error=\"cannot reach the queue\""); n != 1 {
			t.Errorf("%s: the other error at warn %d times, want 1:\n%s", level, n, out)
		}
		if n := count("level=INFO msg=\"recovered: autoscale error no longer happens\""); n != 1 {
			t.Errorf("%s: %d recoveries, want 1:\n%s", level, n, out)
		}
		wantDebug := 0
		if level == "debug" {
			wantDebug = 5 // each of the three warnings' full record, and two repeats
		}
		if n := count("level=DEBUG msg=\"autoscale error\""); n != wantDebug {
			t.Errorf("%s: %d repeats at debug, want %d:\n%s", level, n, wantDebug, out)
		}
		if n := count("autoscale hold"); level == "info" && n != 0 {
			t.Errorf("info: holds written:\n%s", out)
		}
	}
}

// The once-said warning is one short line, the error and how to see
// more; the controller's whole record (observation, policies) is written
// at debug only.
func TestOnceHandlerShortWarning(t *testing.T) {
	t.Parallel()
	for _, level := range []string{"info", "debug"} {
		var buf bytes.Buffer
		inner, _ := newLogHandler(&buf, "text", level)
		log := slog.New(newOnceHandler(inner)).With("fleet", "jobs")
		log.Warn("autoscale error", "seq", 7, "reason", strings.Repeat("the policy said so; ", 20),
			slog.Group("queue", "visible", 3, "inFlight", 0), "error", "the queue q does not exist: create it, or fix queue.url")
		var warn string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if strings.Contains(l, "level=WARN") {
				warn = l
			}
		}
		if len(warn) > 250 || !strings.Contains(warn, `error="the queue q does not exist: create it, or fix queue.url"`) ||
			!strings.Contains(warn, "fleet=jobs") || strings.Contains(warn, "reason=") || strings.Contains(warn, "queue.visible") {
			t.Errorf("%s: the warning is not one short line (%d characters):\n%s", level, len(warn), warn)
		}
		full := strings.Contains(buf.String(), "level=DEBUG") && strings.Contains(buf.String(), "queue.visible=3")
		if full != (level == "debug") {
			t.Errorf("%s: full record at debug %v:\n%s", level, full, buf.String())
		}
	}
}
