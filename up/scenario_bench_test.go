package up

import (
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
)

// BenchmarkSeedsScenario runs the classic queue-worker scenario (a burst of 10,000 messages, 0 to 10 workers) for real, once per
// iteration: 10,000 messages sent at once to an idle qscale up whose
// workers (real qscale worker processes) take 10 ms per message, with a
// target of 100 messages per worker, 0 to 10 workers and the autoscaler
// observing every second. It reports the seconds from the burst to the
// first worker running, to the queue drained, and to the fleet back at
// zero, and how long the stop then takes (workers that were drained finish
// their long poll in progress first).
//
//	go test -run '^$' -bench BenchmarkSeedsScenario -benchtime 1x ./up/
func BenchmarkSeedsScenario(b *testing.B) {
	const messages = 10_000
	for b.Loop() {
		cfg, err := ParseConfig([]byte(`
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "off"}
queues: [{name: demo}]
fleets:
  - queue: demo
    worker: {demo: 10ms}
    minCapacity: 0
    maxCapacity: 10
    interval: 1s
    policies:
      - targetTracking: {TargetValue: 100, ScaleOutCooldown: 0, ScaleInCooldown: 0}
`), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		s, err := Start(b.Context(), Options{Config: cfg, Executable: qscaleBin(b)})
		if err != nil {
			b.Fatal(err)
		}
		q, err := s.Engine().Queue("demo")
		if err != nil {
			b.Fatal(err)
		}
		state := func() autoscale.FleetState {
			st, err := s.FleetState(b.Context(), s.Fleets()[0])
			if err != nil {
				b.Fatal(err)
			}
			return st
		}
		start := time.Now()
		burst(b, q, messages)
		sent := time.Since(start)
		var first, drained time.Duration
		for first == 0 || drained == 0 {
			st := state()
			if first == 0 && st.Running > 0 {
				first = time.Since(start)
			}
			if drained == 0 && q.Stats().Deleted == messages {
				drained = time.Since(start)
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("no drain after 5 minutes: %+v, %+v", st, q.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
		for state().Size() != (autoscale.FleetState{}) {
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("fleet not back at zero after 10 minutes: %+v", state())
			}
			time.Sleep(10 * time.Millisecond)
		}
		zero := time.Since(start)
		if st := q.Stats(); st.Received != messages {
			b.Errorf("%d deliveries of %d messages", st.Received, messages)
		}
		b.ReportMetric(sent.Seconds(), "s-to-send")
		b.ReportMetric(first.Seconds(), "s-to-first-worker")
		b.ReportMetric(drained.Seconds(), "s-to-drain")
		b.ReportMetric(zero.Seconds(), "s-to-zero")
		stopAt := time.Now()
		if err := s.Stop(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(stopAt).Seconds(), "s-to-stop")
	}
}
