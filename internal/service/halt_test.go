package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/qscale/qscale/internal/service"
)

// Halt: nothing to do before a start; a loop that ends on its context is
// waited for; one that does not end is given up on when ctx ends.
func TestHalt(t *testing.T) {
	t.Parallel()
	if err := service.Halt(t.Context(), nil, nil); err != nil {
		t.Errorf("never started: %v", err)
	}

	loop, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { <-loop.Done(); close(done) }()
	if err := service.Halt(t.Context(), cancel, done); err != nil {
		t.Errorf("a loop that ends: %v", err)
	}
	select {
	case <-done:
	default:
		t.Error("Halt returned before the loop closed done")
	}

	ctx, stop := context.WithCancel(t.Context())
	stop()
	called := false
	err := service.Halt(ctx, func() { called = true }, make(chan struct{}))
	if !called || !errors.Is(err, context.Canceled) {
		t.Errorf("a loop that never ends: cancel called %v, err %v; want true and context.Canceled", called, err)
	}
}
