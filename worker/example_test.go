package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker"
)

// A Go handler: the runtime receives, runs the handler with up to four
// messages at once, deletes what succeeded and stops gracefully.
func Example() {
	q := newMemQueue(clock.Real{}) // in a program: sqsclient.Dial(ctx, sqsclient.Options{QueueURL: url})
	q.send("alpha", "beta", "gamma")

	var mu sync.Mutex
	var seen []string
	all := make(chan struct{})
	w, err := worker.New(worker.Config{
		Queue:       q,
		Concurrency: 4,
		Wait:        time.Second, // long polls; a stop lets the one in progress finish
		Handler: func(ctx context.Context, m *worker.Message) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, strings.ToUpper(m.Body))
			if len(seen) == 3 {
				close(all)
			}
			return nil // nil deletes the message; an error retries it after a backoff
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		panic(err)
	}
	<-all
	// Stop waits for held messages; give it a deadline (the grace period)
	// to have the rest released instead.
	if err := w.Stop(ctx); err != nil {
		panic(err)
	}
	st := w.Status()
	fmt.Println(st.State, st.Counts.Succeeded, "succeeded,", q.remaining(), "left")
	// Output: stopped 3 succeeded, 0 left
}

// A worker can report its state and be asked to drain: stop receiving,
// finish what it holds, then Done is closed.
func ExampleWorker_Drain() {
	q := newMemQueue(clock.Real{})
	q.send("job")
	started, finish := make(chan struct{}), make(chan struct{})
	w, _ := worker.New(worker.Config{Queue: q, Handler: func(ctx context.Context, m *worker.Message) error {
		close(started)
		<-finish
		return nil
	}})
	_ = w.Start(context.Background())
	<-started
	fmt.Println(w.Status().State, w.Status().InFlight)
	w.Drain()
	fmt.Println(w.Status().State)
	close(finish)
	<-w.Done()
	fmt.Println(w.Status().State, w.Err())
	// Output:
	// busy 1
	// draining
	// stopped <nil>
}
