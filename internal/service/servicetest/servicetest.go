// Package servicetest is the conformance suite of service.Service: every
// long-running part of qscale runs it.
package servicetest

import (
	"context"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/service"
)

// Run checks the lifecycle contract on services made by newService (a new,
// unstarted one per call): Stop before Start does nothing; Start returns
// once running; a second Start fails; Stop returns within its context and
// is idempotent; Stop after ctx of Start ended still returns.
func Run(t *testing.T, newService func(t *testing.T) service.Service) {
	t.Helper()
	ctx := func(t *testing.T) context.Context {
		c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		t.Cleanup(cancel)
		return c
	}
	t.Run("StopBeforeStart", func(t *testing.T) {
		s := newService(t)
		if err := s.Stop(ctx(t)); err != nil {
			t.Fatalf("Stop before Start: %v", err)
		}
	})
	t.Run("StartStopTwice", func(t *testing.T) {
		s := newService(t)
		c := ctx(t)
		if err := s.Start(c); err != nil {
			t.Fatalf("Start: %v", err)
		}
		if err := s.Start(c); err == nil {
			t.Error("a second Start succeeded")
		}
		if err := s.Stop(c); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if err := s.Stop(c); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
	})
	t.Run("StopAfterStartContextEnded", func(t *testing.T) {
		s := newService(t)
		startCtx, cancel := context.WithCancel(ctx(t))
		if err := s.Start(startCtx); err != nil {
			t.Fatalf("Start: %v", err)
		}
		cancel()
		if err := s.Stop(ctx(t)); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	})
}
