package bench_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/qscale/qscale/bench"
)

// flakyAPI fails every third send call (503) and throttles the first entry
// of every fifth batch (429) of a real API.
type flakyAPI struct {
	bench.API
	calls atomic.Int64
}

func (f *flakyAPI) SendMessageBatch(ctx context.Context, queueURL string, entries []bench.SendEntry) ([]bench.Failure, error) {
	n := f.calls.Add(1)
	if n%3 == 0 {
		return nil, &bench.APIError{Action: "SendMessageBatch", StatusCode: 503, Code: "ServiceUnavailable", Message: "try later"}
	}
	if n%5 == 0 && len(entries) > 1 {
		failed, err := f.API.SendMessageBatch(ctx, queueURL, entries[1:])
		if err != nil {
			return nil, err
		}
		return append(failed, bench.Failure{ID: entries[0].ID, Code: "RequestThrottled", Message: "slow down"}), nil
	}
	return f.API.SendMessageBatch(ctx, queueURL, entries)
}

// A throughput run's senders are Load's: throttled entries and failed
// calls are retried, and every message still arrives once.
func TestRunRetriesFailedSends(t *testing.T) {
	t.Parallel()
	_, api := setup(t, "raw", 8)
	res, err := bench.Run(t.Context(), &flakyAPI{API: api}, bench.Config{Messages: 300, Size: 64, Senders: 2, Receivers: 2, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Latency.Count != 300 || res.Duplicates != 0 || res.Errors == 0 || res.SendCalls <= 30 {
		t.Fatalf("latency samples %d, duplicates %d, errors %d, send calls %d; want 300, 0, some, over 30",
			res.Latency.Count, res.Duplicates, res.Errors, res.SendCalls)
	}
}
