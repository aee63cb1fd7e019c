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

// memoryTuning is what applyMemoryLimit started.
type memoryTuning struct{ t *memlimit.Tuner }

// loaded is called once the store is loaded: the load leaves garbage the
// size of a large backlog's index; with the auto limit, it is collected
// and given back at once, so the server starts at the heap it lives on.
func (m memoryTuning) loaded() {
	if m.t != nil {
		debug.FreeOSMemory()
	}
}

// stop ends the background updates of the auto limit.
func (m memoryTuning) stop() {
	if m.t != nil {
		m.t.Stop()
	}
}

// applyMemoryLimit sets the limit m asks for. Called before the store is
// loaded, so that the auto limit holds the load's garbage too: it follows
// the index as the load builds it.
func applyMemoryLimit(ctx context.Context, m memoryLimit, log *slog.Logger) memoryTuning {
	switch {
	case m.off:
		return memoryTuning{}
	case m.bytes > 0:
		debug.SetMemoryLimit(m.bytes)
		log.Info("memory limit", "bytes", m.bytes)
		return memoryTuning{}
	case os.Getenv("GOMEMLIMIT") != "":
		log.Info("memory limit from GOMEMLIMIT", "value", os.Getenv("GOMEMLIMIT"))
		return memoryTuning{}
	}
	t := memlimit.New(clock.Real{}, memlimit.DefaultPolicy)
	t.Start(ctx)
	log.Debug("memory limit follows the live heap", "bytes", t.Limit())
	return memoryTuning{t}
}
