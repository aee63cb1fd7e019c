package pebblestore

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
)

// logger routes Pebble's messages to qscale's slog logger: Pebble's
// informational lines at Debug (they narrate flushes and compactions),
// errors at Error. Fatalf means Pebble cannot go on with this database
// instance (for example a write-ahead log write failed on a full disk, and
// its commit pipeline is wedged): it is logged and the instance is marked
// dead. Pebble must not continue past a Fatalf, so it never returns: on a
// goroutine committing through instance.commitBatch it panics with a
// fatalError, which commitBatch recovers into an error for the request;
// on one of Pebble's own goroutines it parks that goroutine for good (a
// panic there would end the process), and the store, which stops using a
// dead instance at once, never waits on it.
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
	f := fatalError{msg: msg}
	if l.failed != nil {
		l.failed(f)
	}
	if onCommitPath() {
		panic(f)
	}
	select {} // never return into Pebble
}

// onCommitPath reports whether the calling goroutine is inside
// instance.commitBatch, which recovers a fatalError panic.
func onCommitPath() bool {
	var pcs [64]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs[:])])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "pebblestore.(*instance).commitBatch") {
			return true
		}
		if !more {
			return false
		}
	}
}
