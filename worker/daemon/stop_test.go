package daemon

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestStops: the end of the context and the first SIGTERM or SIGINT ask
// for a graceful stop (the context's end not counted as a signal), a
// second signal to quit, SIGUSR1 for a drain at any time.
func TestStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	sigs := make(chan os.Signal)
	st := newStops(ctx, sigs)
	defer st.close()
	next := func() stopRequest {
		t.Helper()
		select {
		case r := <-st.requests:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no request")
		}
		return stopRequest{}
	}
	sigs <- syscall.SIGUSR1
	if r := next(); r.kind != requestDrain || st.stopping.Err() != nil {
		t.Fatalf("SIGUSR1: %+v, stopping %v", r, st.stopping.Err())
	}
	cancel()
	if r := next(); r != (stopRequest{requestStop, "context"}) {
		t.Fatalf("context end: %+v", r)
	}
	if st.stopping.Err() == nil {
		t.Fatal("start-up context not cancelled by the stop")
	}
	sigs <- syscall.SIGTERM
	if r := next(); r != (stopRequest{requestStop, syscall.SIGTERM.String()}) {
		t.Fatalf("first signal after the context: %+v", r)
	}
	sigs <- syscall.SIGINT
	if r := next(); r != (stopRequest{requestQuit, syscall.SIGINT.String()}) {
		t.Fatalf("second signal: %+v", r)
	}
}
