package daemon

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// request is what the process is asked to do.
type request int

const (
	requestStop  request = iota + 1 // graceful stop: finish held messages within the grace period
	requestQuit                     // stop at once: release held messages
	requestDrain                    // stop receiving, finish everything however long it takes
)

type stopRequest struct {
	kind request
	why  string // the signal, or "context"
}

// stops turns Run's context and, with Options.Signals, the process's
// signals into stop requests. It is the one place where qscale worker
// handles signals: the first SIGTERM or SIGINT asks for a graceful stop, any
// later one to quit at once, SIGUSR1 for a drain. The end of Run's context
// is a graceful stop too, and is not counted as a signal (qscale's main
// cancels that context on the same first signal).
type stops struct {
	requests chan stopRequest
	// stopping is cancelled by the first stop request: the start-up's
	// calls use it, so a signal during start-up ends them.
	stopping context.Context
	cancel   context.CancelFunc
	sigs     chan os.Signal // nil without Options.Signals
	done     chan struct{}
}

func watchStops(ctx context.Context, withSignals bool) *stops {
	var sigs chan os.Signal
	if withSignals {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	}
	return newStops(ctx, sigs)
}

// newStops watches ctx and sigs (nil: none); tests give it their own
// channel of signals.
func newStops(ctx context.Context, sigs chan os.Signal) *stops {
	s := &stops{requests: make(chan stopRequest, 8), sigs: sigs, done: make(chan struct{})}
	s.stopping, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go s.loop(ctx)
	return s
}

func (s *stops) loop(ctx context.Context) {
	ctxDone := ctx.Done()
	signals := 0
	for {
		var r stopRequest
		select {
		case <-ctxDone:
			ctxDone = nil
			r = stopRequest{requestStop, "context"}
		case sig := <-s.sigs:
			switch {
			case sig == syscall.SIGUSR1:
				r = stopRequest{requestDrain, sig.String()}
			case signals == 0:
				signals++
				r = stopRequest{requestStop, sig.String()}
			default:
				r = stopRequest{requestQuit, sig.String()}
			}
		case <-s.done:
			return
		}
		if r.kind != requestDrain {
			s.cancel()
		}
		select {
		case s.requests <- r:
		case <-s.done:
			return
		}
	}
}

// close stops watching; the process's signals get their default
// behaviour back (unless something else watches them).
func (s *stops) close() {
	if s.sigs != nil {
		signal.Stop(s.sigs)
	}
	close(s.done)
	s.cancel()
}
