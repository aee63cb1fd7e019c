package main

import (
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestParseWorkerFlags(t *testing.T) {
	t.Parallel()
	o, err := parseWorkerFlags([]string{"--queue-url", "http://127.0.0.1:9324/000000000000/q", "--wait", "5", "--concurrency", "3", "--log-level", "debug", "--", "sh", "-c", "true"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Wait != 5*time.Second || o.Concurrency != 3 || len(o.Command) != 3 || o.Grace != 30*time.Second || o.LogLevel != slog.LevelDebug || !o.Signals ||
		o.Logger == nil || !o.Logger.Enabled(t.Context(), slog.LevelDebug) {
		t.Fatalf("options %+v", o)
	}
	if o, err := parseWorkerFlags([]string{"--queue-url", "http://h/1/q", "--wait", "250ms", "--demo", "10ms"}); err != nil || o.Demo != 10*time.Millisecond || o.Wait != 250*time.Millisecond {
		t.Fatalf("--demo: %+v, %v", o, err)
	}
	bad := [][]string{
		{"--", "true"},                  // no queue
		{"--queue-url", "http://h/1/q"}, // no handler
		{"--queue-url", "http://h/1/q", "--http", "http://127.0.0.1:1/", "--", "true"}, // both
		{"--queue-url", "http://h/1/q", "--http-start", "app", "--", "true"},           // start without --http
		{"--queue-url", "http://h/1/q", "--wait", "21", "--", "true"},
		{"--queue-url", "http://h/1/q", "--wait", "soon", "--", "true"},
		{"--queue-url", "http://h/1/q", "--status-addr", "nope", "--", "true"},
		{"--queue-url", "http://h/1/q", "--retry-delay", "1h", "--retry-max-delay", "1m", "--", "true"},
		{"--queue-url", "http://h/1/q", "--demo", "10ms", "--", "true"}, // demo and a command
		{"--queue-url", "http://h/1/q", "--demo", "-1s"},
		{"--queue-url", "http://h/1/q", "--log-level", "loud", "--", "true"},
		{"--queue-url", "http://h/1/q", "--log-format", "xml", "--", "true"},
	}
	for _, args := range bad {
		_, err := parseWorkerFlags(args)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}
