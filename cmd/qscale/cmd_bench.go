package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"text/tabwriter"
	"time"

	"github.com/qscale/qscale/bench"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsconn"
)

type benchOptions struct {
	endpoint string
	region   string
	client   string
	mode     string
	json     bool
	logRetry bool
	timeout  time.Duration
	samples  int
	cfg      bench.Config
}

// benchIO is where qscale bench writes and how it dials; tests give
// their own.
type benchIO struct {
	stdout, stderr io.Writer
	stderrIsTTY    bool
	dial           func(ctx context.Context, network, addr string) (net.Conn, error) // nil: the system's
}

func runBench(ctx context.Context, args []string) error {
	return benchCommand(ctx, args, benchIO{stdout: os.Stdout, stderr: os.Stderr, stderrIsTTY: isTerminal(os.Stderr)})
}

func benchCommand(ctx context.Context, args []string, bio benchIO) error {
	var o benchOptions
	fs := newFlags("bench", `Measures an SQS endpoint: sends --messages, receives and deletes them, and prints
throughput and latency (--mode throughput), or long-poll wake-up latency (--mode
wakeup). Without --endpoint-url or --queue-url it measures the local server,
`+sqsconn.DefaultEndpoint+`; Amazon SQS only when named. See docs/benchmarks.md.`, "qscale bench [flags]")
	fs.group("Endpoint")
	fs.StringVar(&o.endpoint, "endpoint-url", "", "SQS endpoint (default: $AWS_ENDPOINT_URL_SQS, $AWS_ENDPOINT_URL, --queue-url's host, else the local server "+sqsconn.DefaultEndpoint+"; Amazon SQS is https://sqs.REGION.amazonaws.com)")
	fs.StringVar(&o.region, "region", "", "AWS region (default: the endpoint's, $AWS_REGION, the profile's, "+sqsconn.DefaultRegion+")")
	fs.StringVar(&o.cfg.QueueURL, "queue-url", "", "use this queue (default: create one and delete it afterwards)")
	fs.group("Run")
	fs.StringVar(&o.client, "client", "raw", "raw: qscale's own JSON 1.0 client (light, so the load generator costs the endpoint less CPU); sdk: aws-sdk-go-v2")
	fs.StringVar(&o.mode, "mode", "throughput", "throughput: send, receive and delete --messages; wakeup: long-poll wake-up latency")
	fs.IntVar(&o.cfg.Messages, "messages", 10000, "messages to send")
	fs.IntVar(&o.cfg.Size, "size", 256, "message body size in bytes (at least 32)")
	fs.IntVar(&o.cfg.Senders, "senders", 4, "concurrent producers")
	fs.IntVar(&o.cfg.Receivers, "receivers", 4, "concurrent consumers (long poll, receive, delete)")
	fs.IntVar(&o.cfg.Batch, "batch", 10, "messages per send, receive and delete call (1..10)")
	wait := fs.Int("wait", 20, "receive WaitTimeSeconds, 0..20")
	fs.BoolVar(&o.cfg.SingleDeletes, "single-deletes", false, "delete each message with DeleteMessage, for endpoints without DeleteMessageBatch")
	fs.IntVar(&o.samples, "samples", 200, "wake-ups to measure in --mode wakeup")
	fs.group("Output")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.BoolVar(&o.logRetry, "log-retries", false, "log every call the SDK retries (--client sdk; the raw client retries nothing itself, a run counts failed calls as errors)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if maxWait := int(queue.MaxWaitTime / time.Second); *wait < 0 || *wait > maxWait {
		return usagef("--wait must be 0..%d, not %d", maxWait, *wait)
	}
	o.cfg.Wait = int32(*wait)
	if o.cfg.Wait == 0 {
		o.cfg.Wait = -1
	}
	if o.cfg.Batch < 1 || o.cfg.Batch > queue.MaxBatchEntries {
		return usagef("--batch must be 1..%d, not %d", queue.MaxBatchEntries, o.cfg.Batch)
	}
	if o.cfg.Size < 32 || o.cfg.Size > queue.MaxMessageSize {
		return usagef("--size must be 32..%d, not %d", queue.MaxMessageSize, o.cfg.Size)
	}
	if o.cfg.Messages < 1 || o.cfg.Senders < 1 || o.cfg.Receivers < 1 || o.samples < 1 {
		return usagef("--messages, --senders, --receivers and --samples must be at least 1")
	}
	if o.client != "raw" && o.client != "sdk" {
		return usagef("--client must be raw or sdk, not %q", o.client)
	}
	if o.mode != "throughput" && o.mode != "wakeup" {
		return usagef("--mode must be throughput or wakeup, not %q", o.mode)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	api, where, err := bench.NewAPI(ctx, o.client, sqsconn.Options{
		QueueURL: o.cfg.QueueURL, Endpoint: o.endpoint, Region: o.region,
		MaxConns: o.cfg.Senders + o.cfg.Receivers + 8, MaxAttempts: 5,
		LogRetries: o.logRetry, Dial: bio.dial,
	})
	if err != nil {
		return usagef("%v", err)
	}
	fmt.Fprintf(bio.stderr, "qscale bench: endpoint %s\n", where)
	live := bio.stderrIsTTY
	stderr := bio.stderr

	if o.mode == "wakeup" {
		wc := bench.WakeupConfig{QueueURL: o.cfg.QueueURL, Samples: o.samples}
		if live {
			wc.Progress = func(done, total int) { fmt.Fprintf(stderr, "\r%d/%d wake-ups", done, total) }
		}
		res, err := bench.Wakeup(ctx, api, wc)
		if live {
			fmt.Fprint(stderr, "\r\033[K")
		}
		if err != nil {
			return benchError(where, err)
		}
		res.Endpoint = where.URL
		if o.json {
			return writeJSON(bio.stdout, res)
		}
		printWakeup(bio.stdout, res, where)
		return nil
	}

	if live {
		o.cfg.Progress = func(p bench.Progress) {
			s := p.Elapsed.Seconds()
			fmt.Fprintf(stderr, "\r\033[K%6.1fs  sent %d/%d (%.0f/s)  deleted %d (%.0f/s)",
				s, p.Sent, p.Total, float64(p.Sent)/s, p.Deleted, float64(p.Deleted)/s)
		}
	}
	res, err := bench.Run(ctx, api, o.cfg)
	if live {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return benchError(where, err)
	}
	res.Endpoint = where.URL
	res.Client = o.client
	if o.json {
		return writeJSON(bio.stdout, res)
	}
	printThroughput(bio.stdout, res, where)
	return nil
}

// benchError names the endpoint a failed run called.
func benchError(where sqsconn.Endpoint, err error) error {
	if where.Source == sqsconn.FromDefault {
		return fmt.Errorf("%s (is 'qscale up' or 'qscale server' running?): %w", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printThroughput(w io.Writer, r bench.Result, where sqsconn.Endpoint) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "endpoint\t%s\n", where)
	fmt.Fprintf(tw, "workload\t%d messages of %d bytes, %d senders, %d receivers, batch %d, %s client\n",
		r.Messages, r.Size, r.Senders, r.Receivers, r.Batch, r.Client)
	fmt.Fprintf(tw, "send\t%.0f msg/s\t(%.2f s)\n", r.SendRate, r.SendSeconds)
	fmt.Fprintf(tw, "end to end\t%.0f msg/s\t(%.2f s, send + receive + delete)\n", r.EndToEndRate, r.TotalSeconds)
	l := r.Latency
	fmt.Fprintf(tw, "latency ms\tp50 %.2f\tp90 %.2f\tp99 %.2f\tmax %.2f\t(send -> receive)\n", l.P50, l.P90, l.P99, l.Max)
	fmt.Fprintf(tw, "calls\tsend %d\treceive %d (%d empty)\tdelete %d\n", r.SendCalls, r.ReceiveCalls, r.EmptyReceives, r.DeleteCalls)
	fmt.Fprintf(tw, "anomalies\tduplicates %d\terrors %d\n", r.Duplicates, r.Errors)
	tw.Flush()
}

func printWakeup(w io.Writer, r bench.WakeupResult, where sqsconn.Endpoint) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "endpoint\t%s\n", where)
	fmt.Fprintf(tw, "samples\t%d\n", r.Samples)
	l := r.Wakeup
	fmt.Fprintf(tw, "wake-up ms\tp50 %.2f\tp90 %.2f\tp99 %.2f\tmax %.2f\t(send start -> waiting receive answered)\n", l.P50, l.P90, l.P99, l.Max)
	l = r.SendCall
	fmt.Fprintf(tw, "send call ms\tp50 %.2f\tp90 %.2f\tp99 %.2f\tmax %.2f\n", l.P50, l.P90, l.P99, l.Max)
	tw.Flush()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
