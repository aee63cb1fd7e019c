package localfleet_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/qscale/qscale/autoscale/localfleet"
)

// A fleet of `qscale worker` processes running the demo handler, sized by
// hand; the autoscaler calls SetDesired and State the same way.
func Example() {
	ctx := context.Background()
	url := "http://127.0.0.1:9324/000000000000/jobs"
	f, err := localfleet.New(localfleet.Options{
		Command:    []string{"qscale", "worker", "--queue-url", url, "--demo", "100ms"},
		MaxWorkers: 10,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Stderr:     os.Stderr, // worker logs, each line prefixed "[w1] "
	})
	if err != nil {
		panic(err)
	}
	if err := f.Start(ctx); err != nil {
		panic(err)
	}
	if err := f.SetDesired(ctx, 3); err != nil {
		panic(err)
	}
	for _, w := range f.Workers() {
		slog.Info("worker", "id", w.ID, "pid", w.PID, "state", w.State)
	}
	slog.Info("start-up", "mean", f.StartupTime())
	stopCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := f.Stop(stopCtx); err != nil {
		panic(err)
	}
}
