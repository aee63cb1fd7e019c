package worker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/worker"
	"github.com/qscale/qscale/worker/sqsclient"
)

// cpuMeter reports this process's own CPU time (user+system) and its
// children's, per message: the worker's own cost, apart from the server's
// (a separate process) and the handler's.
type cpuMeter struct{ self, children time.Duration }

func cpuNow() cpuMeter {
	var s, c syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &s)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return cpuMeter{tv(s.Utime) + tv(s.Stime), tv(c.Utime) + tv(c.Stime)}
}

func (m cpuMeter) report(b *testing.B, n int) {
	now := cpuNow()
	b.ReportMetric(float64((now.self-m.self).Microseconds())/float64(n), "self-cpu-µs/msg")
	b.ReportMetric(float64((now.children-m.children).Microseconds())/float64(n), "child-cpu-µs/msg")
}

// fill sends n messages of 64 bytes with 8 concurrent batch senders.
func fill(tb testing.TB, api *sqs.Client, url string, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	body := strings.Repeat("x", 64)
	var failed atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(10)) - 10
				if start >= n {
					return
				}
				var entries []types.SendMessageBatchRequestEntry
				for i := start; i < min(start+10, n); i++ {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: &body})
				}
				out, err := api.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = fmt.Errorf("%d failed", len(out.Failed))
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatalf("send: %v", err)
	}
}

func benchQueue(b *testing.B, endpoint string) (api *sqs.Client, url string, q *sqsclient.Client) {
	b.Helper()
	api = sqsClient(endpoint)
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	out, err := api.CreateQueue(b.Context(), &sqs.CreateQueueInput{QueueName: &name})
	if err != nil {
		b.Fatal(err)
	}
	url = *out.QueueUrl
	b.Setenv("AWS_ACCESS_KEY_ID", "test")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	q, _, err = sqsclient.Dial(b.Context(), sqsclient.Options{QueueURL: url, Region: "us-east-1"})
	if err != nil {
		b.Fatal(err)
	}
	return api, url, q
}

// runDrain pre-fills b.N messages, then times one worker draining them with
// handler.
func runDrain(b *testing.B, endpoint string, concurrency, prefetch int, deleteDelay time.Duration, handler worker.Handler) {
	api, url, q := benchQueue(b, endpoint)
	fill(b, api, url, b.N)
	var done atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	w, err := worker.New(worker.Config{Queue: q, Concurrency: concurrency, Prefetch: prefetch, DeleteDelay: deleteDelay, Handler: func(ctx context.Context, m *worker.Message) error {
		err := handler(ctx, m)
		if done.Add(1) == n {
			close(all)
		}
		return err
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	cpu := cpuNow()
	if err := w.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	<-all
	if err := w.Stop(context.Background()); err != nil { // flushes the last deletes
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	cpu.report(b, b.N)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msg/s")
	if st := w.Status(); st.Counts.DeleteErrors > 0 {
		b.Fatalf("delete errors: %+v", st.Counts)
	}
}

// endpointForBench is QSCALE_BENCH_ENDPOINT, or a `qscale server
// --in-memory` process (a separate process, as in production: the worker's
// figures are not mixed with the server's garbage collection).
func endpointForBench(b *testing.B) string {
	if ep := os.Getenv("QSCALE_BENCH_ENDPOINT"); ep != "" {
		return ep
	}
	return startServerProcess(b)
}

// BenchmarkNoopGoHandler: one worker, a Go handler that does nothing.
func BenchmarkNoopGoHandler(b *testing.B) {
	for _, c := range []int{10, 50, 100} {
		b.Run("concurrency="+strconv.Itoa(c), func(b *testing.B) {
			runDrain(b, endpointForBench(b), c, 0, 0, func(context.Context, *worker.Message) error { return nil })
		})
	}
}

// BenchmarkCommandTrue: one worker running `true` per message.
func BenchmarkCommandTrue(b *testing.B) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip(err)
	}
	h := worker.Command([]string{truePath}, worker.CommandOptions{})
	for _, c := range []int{1, 2} {
		for _, p := range []int{0, 10 - c} {
			for _, d := range []time.Duration{0, 10 * time.Millisecond} {
				b.Run(fmt.Sprintf("concurrency=%d/prefetch=%d/delete-delay=%v", c, p, d), func(b *testing.B) {
					runDrain(b, endpointForBench(b), c, p, d, h)
				})
			}
		}
	}
}

// BenchmarkExecTrue is the floor of command mode: fork and exec `true`
// with the same environment and no queue at all.
func BenchmarkExecTrue(b *testing.B) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip(err)
	}
	for _, c := range []int{1, 2, 4} {
		b.Run("parallel="+strconv.Itoa(c), func(b *testing.B) {
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			cpu := cpuNow()
			for range c {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						cmd := exec.Command(truePath)
						cmd.Stdin = strings.NewReader("body")
						cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
						if err := cmd.Run(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			cpu.report(b, b.N)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
		})
	}
}

// BenchmarkSeedDrain is the classic drain test: 10,000 messages drained by 1-4
// `qscale worker` processes against a `qscale server --in-memory` process.
// The handler is QSCALE_BENCH_HANDLER (a command line run with sh -c by
// each worker), `true` by default; QSCALE_BENCH_CONCURRENCY sets each
// worker's concurrency (4). With QSCALE_BENCH_SINK set to a built
// examples/sqlite-sink, the workers are that program instead, writing every
// message to SQLite.
func BenchmarkSeedDrain(b *testing.B) {
	bin := qscaleBin(b)
	const n = 10000
	handler := os.Getenv("QSCALE_BENCH_HANDLER")
	if handler == "" {
		handler = "true"
	}
	conc := os.Getenv("QSCALE_BENCH_CONCURRENCY")
	if conc == "" {
		conc = "4"
	}
	endpoint := startServerProcess(b)
	for _, workers := range []int{1, 2, 3, 4} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			for range b.N {
				api, url, _ := benchQueue(b, endpoint)
				fill(b, api, url, n)
				start := time.Now()
				var procs []*exec.Cmd
				for i := range workers {
					cmd := exec.Command(bin, "worker", "--queue-url", url, "--concurrency", conc, "--log-level", "warn", "--", "sh", "-c", handler)
					if sink := os.Getenv("QSCALE_BENCH_SINK"); sink != "" {
						// examples/sqlite-sink: one database per worker, as
						// seed 003's tasks each wrote to DynamoDB.
						db := filepath.Join(b.TempDir(), fmt.Sprintf("news-%d.db", i))
						cmd = exec.Command(sink, "--queue-url", url, "--concurrency", conc, "--db", db)
					}
					cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
					cmd.Stderr = os.Stderr
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
					procs = append(procs, cmd)
				}
				for {
					out, err := api.GetQueueAttributes(b.Context(), &sqs.GetQueueAttributesInput{QueueUrl: &url,
						AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
					if err != nil {
						b.Fatal(err)
					}
					if out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				el := time.Since(start)
				for _, p := range procs {
					_ = p.Process.Signal(os.Interrupt)
					_ = p.Wait()
				}
				b.ReportMetric(el.Seconds(), "s/drain")
				b.ReportMetric(n/el.Seconds(), "msg/s")
			}
		})
	}
}

// startServerProcess runs `qscale server --in-memory` on a free port.
func startServerProcess(b *testing.B) string {
	b.Helper()
	addrFile := filepath.Join(b.TempDir(), "addr")
	p := qscalebin.Start(b, nil, "server", "--in-memory", "--listen", "127.0.0.1:0", "--addr-file", addrFile)
	return "http://" + strings.TrimSpace(string(p.WaitFile(b, addrFile, 10*time.Second, nil)))
}
