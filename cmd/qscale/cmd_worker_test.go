package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParseWorkerFlags(t *testing.T) {
	t.Parallel()
	o, err := parseWorkerFlags([]string{"--queue-url", "http://127.0.0.1:9324/000000000000/q", "--wait", "5", "--concurrency", "3", "--", "sh", "-c", "true"})
	if err != nil {
		t.Fatal(err)
	}
	if o.wait.d != 5*time.Second || o.concurrency != 3 || len(o.argv) != 3 || o.grace != 30*time.Second {
		t.Fatalf("options %+v", o)
	}
	if o, err := parseWorkerFlags([]string{"--queue-url", "http://h/1/q", "--demo", "10ms"}); err != nil || o.demo != 10*time.Millisecond {
		t.Fatalf("--demo: %+v, %v", o, err)
	}
	bad := [][]string{
		{"--", "true"},                  // no queue
		{"--queue-url", "http://h/1/q"}, // no handler
		{"--queue-url", "http://h/1/q", "--http", "http://127.0.0.1:1/", "--", "true"}, // both
		{"--queue-url", "http://h/1/q", "--http-start", "app", "--", "true"},           // start without --http
		{"--queue-url", "http://h/1/q", "--wait", "21", "--", "true"},
		{"--queue-url", "http://h/1/q", "--status-addr", "nope", "--", "true"},
		{"--queue-url", "http://h/1/q", "--retry-delay", "1h", "--retry-max-delay", "1m", "--", "true"},
		{"--queue-url", "http://h/1/q", "--demo", "10ms", "--", "true"}, // demo and a command
		{"--queue-url", "http://h/1/q", "--demo", "-1s"},
	}
	for _, args := range bad {
		_, err := parseWorkerFlags(args)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}

func TestDemoHandler(t *testing.T) {
	t.Parallel()
	h := demoHandler(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled demo handler returned %v", err)
	}
	if err := demoHandler(time.Microsecond)(t.Context(), nil); err != nil {
		t.Fatalf("demo handler: %v", err)
	}
}
