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

const memoryLimitUsage = "soft limit of the Go runtime's memory: auto holds the store's load under 900MiB, then follows the live heap (an eighth plus 128MiB above it, at least 256MiB), off leaves it to the runtime, or a size (900MiB); auto yields to $GOMEMLIMIT"

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

// loadCeiling is the auto limit while the store loads. Loading builds the
// index with garbage of the same size beside it; a limit that follows the
// live heap from the start makes the collector run again and again as the
// index grows (a restart at 10 million messages took half as long again).
// A fixed ceiling below 1 GiB lets the load run with few collections and
// still bounds the peak; the limit follows the live heap once it is done.
const loadCeiling = 900 << 20

// memoryTuning is what applyMemoryLimit started.
type memoryTuning struct {
	ctx  context.Context
	auto bool
	log  *slog.Logger
	t    *memlimit.Tuner
}

// loaded is called once the store is loaded. With the auto limit, the
// limit follows the live heap from then on, and the load's garbage is
// collected and given back at once, in the background, so the server
// settles at the heap it lives on.
func (m *memoryTuning) loaded() {
	if !m.auto {
		return
	}
	m.t = memlimit.New(clock.Real{}, memlimit.DefaultPolicy)
	m.t.Start(m.ctx)
	m.log.Debug("memory limit follows the live heap", "bytes", m.t.Limit())
	// Giving the load's garbage back takes a full collection of the new
	// index (most of a second at 10 million messages): done beside the
	// server, which starts serving meanwhile.
	go debug.FreeOSMemory()
}

// stop ends the background updates of the auto limit.
func (m *memoryTuning) stop() {
	if m.t != nil {
		m.t.Stop()
	}
}

// applyMemoryLimit sets the limit m asks for. Called before the store is
// loaded: the auto limit holds the load under loadCeiling, then follows
// the live heap (loaded).
func applyMemoryLimit(ctx context.Context, m memoryLimit, log *slog.Logger) *memoryTuning {
	switch {
	case m.off:
		return &memoryTuning{}
	case m.bytes > 0:
		debug.SetMemoryLimit(m.bytes)
		log.Info("memory limit", "bytes", m.bytes)
		return &memoryTuning{}
	case os.Getenv("GOMEMLIMIT") != "":
		log.Info("memory limit from GOMEMLIMIT", "value", os.Getenv("GOMEMLIMIT"))
		return &memoryTuning{}
	}
	debug.SetMemoryLimit(loadCeiling)
	return &memoryTuning{ctx: ctx, auto: true, log: log}
}
