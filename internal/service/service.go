// Package service is qscale's one lifecycle contract for long-running parts
// (the queue server, a fleet, the controller, the dashboard, the CloudWatch
// publisher) and the ordered start and stop that joins them into a process.
//
// A Service's Start returns once the service runs (its work goes on in the
// background) and fails if it was started before; Stop ends it, waiting
// for work in flight within ctx, and is idempotent and safe before Start.
// Shutdown is in reverse start order: a part is stopped only after every
// part started after it (and so possibly depending on it) has stopped.
package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Service is a long-running part of qscale.
type Service interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Stack starts services in order and stops them in reverse. The zero value
// is ready to use; it is safe for concurrent use.
type Stack struct {
	mu      sync.Mutex // guards below
	parts   []part
	stopped bool
	err     error
}

type part struct {
	name string
	stop func(context.Context) error
}

// ErrStopped is returned by Start and Defer once the stack has stopped.
var ErrStopped = errors.New("service: stack stopped")

// Start starts svc and, if it started, pushes its Stop. The error names
// the part.
func (s *Stack) Start(ctx context.Context, name string, svc Service) error {
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return fmt.Errorf("start %s: %w", name, ErrStopped)
	}
	if err := svc.Start(ctx); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return s.Defer(name, svc.Stop)
}

// Defer pushes a stop step that is not a Service's (closing a listener, a
// last flush): it runs in its place in the reverse order.
func (s *Stack) Defer(name string, stop func(context.Context) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		// Stop has run: undo this part at once rather than leak it.
		return errors.Join(fmt.Errorf("start %s: %w", name, ErrStopped), stop(context.Background()))
	}
	s.parts = append(s.parts, part{name, stop})
	return nil
}

// Stop stops every part in reverse order, each within ctx, and returns
// their errors joined, each naming its part. A part's error does not keep
// the parts below it from stopping. Later calls return the first result.
func (s *Stack) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return s.err
	}
	s.stopped = true
	var errs []error
	for i := len(s.parts) - 1; i >= 0; i-- {
		p := s.parts[i]
		if err := p.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", p.name, err))
		}
	}
	s.parts = nil
	s.err = errors.Join(errs...)
	return s.err
}

// Halt ends a background loop a Service started: it calls cancel and waits,
// within ctx, for the loop to close done. A nil cancel (the loop never
// started) returns nil at once; it is the body of most Stop methods.
func Halt(ctx context.Context, cancel context.CancelFunc, done <-chan struct{}) error {
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
