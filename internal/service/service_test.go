package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/internal/service/servicetest"
)

// part is a Service that records its start and stop in a shared log.
type part struct {
	name              string
	log               *[]string
	mu                *sync.Mutex
	startErr, stopErr error
	started           bool
}

func (p *part) Start(context.Context) error {
	if p.started {
		return errors.New("started twice")
	}
	if p.startErr != nil {
		return p.startErr
	}
	p.started = true
	p.mu.Lock()
	*p.log = append(*p.log, "start "+p.name)
	p.mu.Unlock()
	return nil
}

func (p *part) Stop(context.Context) error {
	p.mu.Lock()
	*p.log = append(*p.log, "stop "+p.name)
	p.mu.Unlock()
	return p.stopErr
}

func TestStackStopsInReverseAndJoinsErrors(t *testing.T) {
	t.Parallel()
	var log []string
	var mu sync.Mutex
	mk := func(name string) *part { return &part{name: name, log: &log, mu: &mu} }
	var s service.Stack
	a, b, c := mk("a"), mk("b"), mk("c")
	b.stopErr = errors.New("b is stuck")
	for _, p := range []*part{a, b, c} {
		if err := s.Start(t.Context(), p.name, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Defer("flush", func(context.Context) error { log = append(log, "flush"); return nil }); err != nil {
		t.Fatal(err)
	}
	err := s.Stop(t.Context())
	want := []string{"start a", "start b", "start c", "flush", "stop c", "stop b", "stop a"}
	if !slices.Equal(log, want) {
		t.Fatalf("order %v, want %v", log, want)
	}
	if err == nil || !strings.Contains(err.Error(), "stop b: b is stuck") {
		t.Fatalf("Stop: %v", err)
	}
	if again := s.Stop(t.Context()); again == nil || again.Error() != err.Error() {
		t.Fatalf("second Stop: %v", again)
	}
	if err := s.Start(t.Context(), "late", mk("late")); !errors.Is(err, service.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
}

func TestStackStartFailureNamesThePartAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	var log []string
	var mu sync.Mutex
	var s service.Stack
	a := &part{name: "a", log: &log, mu: &mu}
	bad := &part{name: "bad", log: &log, mu: &mu, startErr: errors.New("port in use")}
	if err := s.Start(t.Context(), "a", a); err != nil {
		t.Fatal(err)
	}
	err := s.Start(t.Context(), "bad", bad)
	if err == nil || err.Error() != "start bad: port in use" {
		t.Fatalf("Start: %v", err)
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"start a", "stop a"}; !slices.Equal(log, want) {
		t.Fatalf("order %v, want %v", log, want)
	}
}

// onceService is the smallest correct Service: the suite must pass on it.
type onceService struct {
	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func (s *onceService) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("already started")
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() { <-ctx.Done(); close(s.done) }()
	return nil
}

func (s *onceService) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	return service.Halt(ctx, cancel, done)
}

func TestConformanceOfTheSmallestService(t *testing.T) {
	t.Parallel()
	servicetest.Run(t, func(*testing.T) service.Service { return &onceService{} })
}
