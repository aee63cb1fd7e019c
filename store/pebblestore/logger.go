package pebblestore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// logger routes Pebble's messages to qscale's slog logger: Pebble's
// informational lines at Debug (they narrate flushes and compactions),
// errors at Error. Fatalf means Pebble cannot go on with this database
// instance (for example a write-ahead log write failed on a full disk, and
// its commit pipeline is wedged): it is logged, the instance is marked dead,
// and the calling goroutine parks for good. Pebble must not continue past a
// Fatalf, and a panic on one of its own goroutines would end the process;
// the store never waits on a dead instance (see instance), so a parked
// goroutine holds up no request.
type logger struct {
	log    *slog.Logger
	failed func(error) // marks the instance dead
	quiet  func() bool // true once the instance is abandoned: its noise is dropped
}

// fatalError is what a dead instance reports.
type fatalError struct{ msg string }

func (f fatalError) Error() string { return f.msg }

func (l logger) Infof(format string, args ...any) {
	if l.quiet != nil && l.quiet() {
		return
	}
	l.log.Debug("pebble: "+strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"), "component", "store")
}

func (l logger) Errorf(format string, args ...any) {
	if l.quiet != nil && l.quiet() {
		return
	}
	l.log.Error("pebble: "+strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"), "component", "store")
}

func (l logger) Fatalf(format string, args ...any) {
	msg := strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")
	if l.quiet == nil || !l.quiet() {
		l.log.Log(context.Background(), slog.LevelError, "pebble: fatal: "+msg, "component", "store")
	}
	if l.failed != nil {
		l.failed(fatalError{msg: msg})
	}
	select {} // never return into Pebble
}
