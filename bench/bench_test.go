package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/bench"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/server"
	"github.com/qscale/qscale/sqsconn"
)

// setup starts a durable in-process server (pebble, fsync on sends) with its
// data on disk, and returns a client of the given kind ("raw" or "sdk")
// tuned for conns concurrent callers.
// QSCALE_BENCH_DIR chooses where the data goes (default: the test's
// temporary directory, which must not be a tmpfs for the figures to mean
// anything).
func setup(tb testing.TB, client string, conns int) (*server.Server, bench.API) {
	tb.Helper()
	dir := tb.TempDir()
	if base := os.Getenv("QSCALE_BENCH_DIR"); base != "" {
		d, err := os.MkdirTemp(base, "bench-")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	s := testserver.StartConfig(tb, server.Config{DataDir: dir})
	api, _, err := bench.NewAPI(context.Background(), client, sqsconn.Options{Endpoint: s.URL(), MaxConns: conns})
	if err != nil {
		tb.Fatal(err)
	}
	return s, api
}

func TestRunDeliversEveryMessageOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		client string
		batch  int
	}{{"raw", 1}, {"raw", 7}, {"raw", 10}, {"sdk", 1}, {"sdk", 10}} {
		batch := tc.batch
		t.Run(fmt.Sprintf("%s/batch%d", tc.client, batch), func(t *testing.T) {
			t.Parallel()
			_, api := setup(t, tc.client, 8)
			var progressed atomic.Bool
			res, err := bench.Run(context.Background(), api, bench.Config{
				Messages: 503, Size: 100, Senders: 3, Receivers: 3, Batch: batch,
				Progress: func(bench.Progress) { progressed.Store(true) }, ProgressEvery: time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Latency.Count != 503 || res.Duplicates != 0 || res.Errors != 0 {
				t.Errorf("latency samples %d, duplicates %d, errors %d; want 503, 0, 0", res.Latency.Count, res.Duplicates, res.Errors)
			}
			wantSends := int64((503 + batch - 1) / batch)
			if res.SendCalls != wantSends {
				t.Errorf("send calls = %d, want %d", res.SendCalls, wantSends)
			}
			if res.EndToEndRate <= 0 || res.SendRate < res.EndToEndRate {
				t.Errorf("send rate %.0f, end-to-end rate %.0f", res.SendRate, res.EndToEndRate)
			}
			if !progressed.Load() {
				t.Error("progress was never reported")
			}
		})
	}
}

// parkedOn returns a WakeupConfig.Parked for the named queue of s: the
// engine's own signal that a long poll waits.
func parkedOn(tb testing.TB, s *server.Server, name string) func() <-chan struct{} {
	return func() <-chan struct{} {
		q, err := s.Engine.Queue(name)
		if err != nil {
			tb.Errorf("queue %s: %v", name, err)
			c := make(chan struct{})
			close(c)
			return c
		}
		return q.WaiterAdded()
	}
}

func TestWakeup(t *testing.T) {
	t.Parallel()
	s, api := setup(t, "raw", 4)
	res, err := bench.Wakeup(context.Background(), api, bench.WakeupConfig{
		Samples: 5, QueueName: "wakeup-test", Parked: parkedOn(t, s, "wakeup-test"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A long poll that was not woken would answer after 20 s.
	if res.Wakeup.Count != 5 || res.Wakeup.Max > 5000 {
		t.Errorf("wake-ups: %+v", res.Wakeup)
	}
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := bench.Percentiles(d)
	want := bench.Latency{Count: 100, Min: 1, P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Errorf("Percentiles = %+v, want %+v", got, want)
	}
	if z := bench.Percentiles(nil); z != (bench.Latency{}) {
		t.Errorf("Percentiles(nil) = %+v", z)
	}
}

// BenchmarkEndToEnd sends, receives and deletes b.N messages through a
// durable server, client and server in this process, with each client
// (BenchmarkEndToEnd/batch10/raw, .../sdk). Run it with a fixed count,
// e.g. -benchtime=50000x.
func BenchmarkEndToEnd(b *testing.B) {
	for _, c := range []struct {
		name                      string
		batch, senders, receivers int
	}{
		{"batch10", 10, 4, 4},
		{"batch1", 1, 16, 16},
		{"batch1-wide", 1, 32, 64},
		{"batch10-wide", 10, 16, 16},
	} {
		for _, client := range bench.Clients {
			b.Run(c.name+"/"+client, func(b *testing.B) {
				_, api := setup(b, client, c.senders+c.receivers+8)
				ctx := context.Background()
				url, err := bench.CreateQueue(ctx, api, "")
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				res, err := bench.Run(ctx, api, bench.Config{
					QueueURL: url, Messages: b.N, Size: 256,
					Senders: c.senders, Receivers: c.receivers, Batch: c.batch,
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(res.EndToEndRate, "msg/s")
				b.ReportMetric(res.SendRate, "sent/s")
				b.ReportMetric(res.Latency.P50, "p50-ms")
				b.ReportMetric(res.Latency.P99, "p99-ms")
				b.ReportMetric(float64(res.Errors), "errors")
			})
		}
	}
}

// BenchmarkWakeup measures how long a waiting long poll takes to answer
// after a send (from the start of the send call). Each sample sends once
// the engine reports the receive parked; use e.g. -benchtime=300x.
func BenchmarkWakeup(b *testing.B) {
	s, api := setup(b, "sdk", 4)
	b.ResetTimer()
	res, err := bench.Wakeup(context.Background(), api, bench.WakeupConfig{
		Samples: b.N, QueueName: "wakeup-bench", Parked: parkedOn(b, s, "wakeup-bench"),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(res.Wakeup.P50, "p50-ms")
	b.ReportMetric(res.Wakeup.P99, "p99-ms")
	b.ReportMetric(res.SendCall.P99, "send-p99-ms")
	b.ReportMetric(0, "ns/op")
}

// idleClientEnv makes this test binary a client that parks long polls
// (see TestIdleLongPollsCostNoCPU).
const idleClientEnv = "QSCALE_BENCH_IDLE_CLIENT"

// TestIdleLongPollsCostNoCPU parks 10,000 ReceiveMessage calls
// (WaitTimeSeconds 20, each sent again when it ends, as workers do) on an
// empty queue of a durable server, waits until the engine holds all of
// them at once, and measures the server process's CPU time while they
// wait. The client is a child process, so that each side holds 10,000
// connections within the file limit and the measurement is of the server
// alone. CPU time is the process's own, so a loaded machine does not
// inflate it; the bound is wide enough for the re-polls that fall into the
// window and far below what polling in a loop would cost.
func TestIdleLongPollsCostNoCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("parks 10,000 connections for several seconds")
	}
	const polls = 10000
	s, api := setup(t, "raw", 4)
	ctx := context.Background()
	url, err := bench.CreateQueue(ctx, api, "idle")
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleLongPollClient$")
	cmd.Env = append(os.Environ(), idleClientEnv+"="+s.URL()+" "+url+" "+strconv.Itoa(polls))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("client ended before its polls were parked: %s", stderr.String())
		}
		t.Logf("client: %s", line)
		if !strings.HasSuffix(line, " failed 0") {
			t.Fatalf("some long polls failed: %s", line)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("client did not park its polls in 60 s: %s", stderr.String())
	}
	q, err := s.Engine.Queue("idle")
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 90*time.Second, "10,000 long polls parked at once", func() bool { return q.Waiting() >= polls })
	const window = 3 * time.Second
	before := cpuTime(t)
	start := time.Now()
	time.Sleep(window)
	used := cpuTime(t) - before
	wall := time.Since(start)
	share := float64(used) / float64(wall)
	t.Logf("%d idle long polls: server process used %v CPU in %v (%.2f%% of one core)",
		polls, used, wall.Round(time.Millisecond), 100*share)
	if share > 0.5 {
		t.Errorf("idle long polls cost %.1f%% of a core, want far less (under 50%% under the race detector, re-polls included)", 100*share)
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIdleLongPollClient is the child process of TestIdleLongPollsCostNoCPU:
// it sends n ReceiveMessage calls in the JSON protocol, each on its own
// connection, prints "ready" once all are written, and waits.
func TestIdleLongPollClient(t *testing.T) {
	spec := os.Getenv(idleClientEnv)
	if spec == "" {
		t.Skip("runs as the child of TestIdleLongPollsCostNoCPU")
	}
	var endpoint, queueURL string
	var n int
	if _, err := fmt.Sscan(spec, &endpoint, &queueURL, &n); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	body := fmt.Sprintf(`{"QueueUrl":%q,"WaitTimeSeconds":20,"MaxNumberOfMessages":10}`, queueURL)
	var written sync.WaitGroup
	var failed atomic.Int64
	written.Add(n)
	for range n {
		go func() {
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(written.Done) }}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
				http.MethodPost, endpoint+"/", strings.NewReader(body))
			if err != nil {
				panic(err)
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			req.Header.Set("X-Amz-Target", "AmazonSQS.ReceiveMessage")
			for {
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					once.Do(written.Done)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				// The poll ended empty: poll again, as a worker does.
				req, _ = http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-amz-json-1.0")
				req.Header.Set("X-Amz-Target", "AmazonSQS.ReceiveMessage")
			}
		}()
	}
	written.Wait()
	fmt.Println("ready", n, "failed", failed.Load())
	select {} // until the parent kills this process
}
