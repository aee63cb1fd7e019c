package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/memlimit"
)

// memoryLimit is --memory-limit: "auto" (the default), "off", or a size.
type memoryLimit struct {
	off   bool
	bytes int64 // a fixed limit; 0 with off false: auto
}

const memoryLimitUsage = "soft limit of the Go runtime's memory: auto follows the live heap (an eighth plus 128MiB above it, at least 256MiB), off leaves it to the runtime, or a size (900MiB); auto yields to $GOMEMLIMIT"

func parseMemoryLimit(v string) (memoryLimit, error) {
	switch strings.TrimSpace(v) {
	case "auto", "":
		return memoryLimit{}, nil
	case "off":
		return memoryLimit{off: true}, nil
	}
	b, pct, err := parseMinFree(v)
	if err != nil || pct != 0 || b <= 0 {
		return memoryLimit{}, fmt.Errorf("%q is not auto, off or a size such as 900MiB", v)
	}
	return memoryLimit{bytes: b}, nil
}

// applyMemoryLimit sets the limit m asks for and returns what undoes any
// background work it started.
func applyMemoryLimit(ctx context.Context, m memoryLimit, log *slog.Logger) (stop func()) {
	switch {
	case m.off:
		return func() {}
	case m.bytes > 0:
		debug.SetMemoryLimit(m.bytes)
		log.Info("memory limit", "bytes", m.bytes)
		return func() {}
	case os.Getenv("GOMEMLIMIT") != "":
		log.Info("memory limit from GOMEMLIMIT", "value", os.Getenv("GOMEMLIMIT"))
		return func() {}
	}
	// The load of the store leaves garbage the size of a large backlog's
	// index: collect it and give it back now, so the limit starts from the
	// heap the server lives on.
	debug.FreeOSMemory()
	t := memlimit.New(clock.Real{}, memlimit.DefaultPolicy)
	t.Start(ctx)
	log.Info("memory limit follows the live heap", "bytes", t.Limit())
	return t.Stop
}
