package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/bench"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/producer/sqssender"
)

func init() {
	register(command{name: "send", summary: "send a message (or each line of stdin) to a queue", run: runSend})
}

// defaultProducerEndpoint is the local qscale server.
const defaultProducerEndpoint = "http://127.0.0.1:9324"

// producerIO is where a producer command reads and writes, and its clock;
// tests give their own.
type producerIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stderrIsTTY    bool
	clock          clock.Clock
}

func osProducerIO() producerIO {
	return producerIO{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, stderrIsTTY: isTerminal(os.Stderr), clock: clock.Real{}}
}

// queueTarget is a queue and the endpoint that serves it, from --queue,
// --endpoint-url and --region.
type queueTarget struct {
	queue    string
	endpoint string // "" = the SDK's own resolution (Amazon SQS)
	region   string
}

func (t *queueTarget) flags(fs *flag.FlagSet) {
	fs.StringVar(&t.queue, "queue", "", "queue name or URL (required)")
	fs.StringVar(&t.endpoint, "endpoint-url", "", "SQS endpoint (default: the queue URL's host, else $AWS_ENDPOINT_URL_SQS, else "+defaultProducerEndpoint+")")
	fs.StringVar(&t.region, "region", "", "AWS region (default $AWS_REGION, else us-east-1)")
}

// resolve checks the flags and chooses the endpoint.
func (t *queueTarget) resolve() error {
	if t.queue == "" {
		return usagef("--queue is required (a queue name or URL)")
	}
	if t.endpoint != "" {
		u, err := url.Parse(t.endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return usagef("--endpoint-url %q: want http(s)://host[:port]", t.endpoint)
		}
		return nil
	}
	if sqssender.IsURL(t.queue) {
		u, err := url.Parse(t.queue)
		if err != nil || u.Host == "" {
			return usagef("--queue %q: not a queue URL", t.queue)
		}
		if !strings.HasSuffix(u.Hostname(), ".amazonaws.com") && !strings.HasSuffix(u.Hostname(), ".amazonaws.com.cn") {
			t.endpoint = u.Scheme + "://" + u.Host
		}
		return nil
	}
	if strings.Contains(t.queue, "/") {
		return usagef("--queue %q: want a queue name or an http(s):// queue URL", t.queue)
	}
	t.endpoint = os.Getenv("AWS_ENDPOINT_URL_SQS")
	if t.endpoint == "" {
		t.endpoint = defaultProducerEndpoint
	}
	return nil
}

// dial returns a sender for t whose SDK client makes at most attempts
// attempts per call, with backoff up to maxBackoff between them.
func (t *queueTarget) dial(ctx context.Context, conns, attempts int, maxBackoff time.Duration) (*sqssender.Sender, error) {
	api, err := bench.NewClient(ctx, bench.ClientOptions{Endpoint: t.endpoint, Region: t.region, Conns: conns})
	if err != nil {
		return nil, err
	}
	api = sqs.New(api.Options(), func(o *sqs.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(o.Retryer, attempts), maxBackoff)
	})
	return sqssender.New(api), nil
}

// explain makes a producer error readable on the command line.
func (t *queueTarget) explain(err error) error {
	var pe *producer.Error
	if !errors.As(err, &pe) {
		return err
	}
	where := t.endpoint
	if where == "" {
		where = "Amazon SQS"
	}
	switch {
	case pe.Code == producer.CodeNonExistentQueue:
		return fmt.Errorf("queue %q does not exist at %s (create it with: aws sqs create-queue --endpoint-url %s --queue-name %s)",
			t.queue, where, orDefault(t.endpoint, "https://sqs.REGION.amazonaws.com"), queueNameOf(t.queue))
	case pe.Code == producer.CodeServiceUnavailable && pe.Status == 502:
		hint := ""
		if t.endpoint == defaultProducerEndpoint {
			hint = " (is 'qscale up' or 'qscale server' running?)"
		}
		return fmt.Errorf("cannot reach %s%s: %s", where, hint, strings.TrimPrefix(pe.Message, "The SQS endpoint could not be reached: "))
	}
	return fmt.Errorf("%s: %s", pe.Code, pe.Message)
}

func queueNameOf(q string) string {
	if i := strings.LastIndexByte(q, '/'); i >= 0 {
		return q[i+1:]
	}
	return q
}

type sendOptions struct {
	queueTarget
	attrs    map[string]producer.Attribute
	delay    int // -1: the queue's
	group    string
	dedup    string
	lines    bool
	body     string
	useStdin bool
}

func parseSendFlags(args []string, stderr io.Writer) (sendOptions, error) {
	o := sendOptions{attrs: map[string]producer.Attribute{}}
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qscale send --queue NAME|URL [flags] [BODY | -]\n\nSends BODY (or stdin with -) and prints the message id.\n\nflags:")
		fs.PrintDefaults()
	}
	o.queueTarget.flags(fs)
	fs.Func("attr", "message attribute `name=value` (String; repeatable; name:Number=value for a number)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want name=value, not %q", s)
		}
		typ := "String"
		if name, t, ok := strings.Cut(k, ":"); ok {
			if t != "String" && t != "Number" && !strings.HasPrefix(t, "String.") && !strings.HasPrefix(t, "Number.") {
				return fmt.Errorf("attribute type %q: want String or Number", t)
			}
			k, typ = name, t
		}
		o.attrs[k] = producer.Attribute{DataType: typ, StringValue: v}
		return nil
	})
	fs.IntVar(&o.delay, "delay", -1, "delay in seconds, 0..900 (default: the queue's DelaySeconds)")
	fs.StringVar(&o.group, "group", "", "MessageGroupId (FIFO queues)")
	fs.StringVar(&o.dedup, "dedup", "", "MessageDeduplicationId (FIFO queues)")
	fs.BoolVar(&o.lines, "lines", false, "send each line of stdin as a message, in batches of 10")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usagef("%v", err)
	}
	if err := o.queueTarget.resolve(); err != nil {
		return o, err
	}
	if o.delay < -1 || o.delay > producer.MaxDelay {
		return o, usagef("--delay must be 0..900 seconds, not %d", o.delay)
	}
	switch {
	case fs.NArg() > 1:
		return o, usagef("one message body at a time (quote it), got %d arguments", fs.NArg())
	case o.lines && fs.NArg() == 1 && fs.Arg(0) != "-":
		return o, usagef("--lines reads stdin; do not give a BODY")
	case o.lines:
		if o.dedup != "" {
			return o, usagef("--dedup would make every line a duplicate of the first; use content-based deduplication with --lines")
		}
	case fs.NArg() == 0:
		return o, usagef("give the message BODY, or - to read it from stdin")
	case fs.Arg(0) == "-":
		o.useStdin = true
	default:
		o.body = fs.Arg(0)
	}
	return o, nil
}

func (o *sendOptions) message(body string) producer.Message {
	m := producer.Message{Body: body, Attributes: o.attrs, GroupID: o.group, DedupID: o.dedup}
	if len(o.attrs) == 0 {
		m.Attributes = nil
	}
	if o.delay >= 0 {
		d := o.delay
		m.DelaySeconds = &d
	}
	return m
}

func runSend(ctx context.Context, args []string) error { return sendCommand(ctx, args, osProducerIO()) }

func sendCommand(ctx context.Context, args []string, cio producerIO) error {
	o, err := parseSendFlags(args, cio.stderr)
	if err != nil {
		return err
	}
	sender, err := o.dial(ctx, 4, 3, time.Second)
	if err != nil {
		return err
	}
	if _, err := sender.QueueURL(ctx, o.queue); err != nil {
		return o.explain(err)
	}
	if o.lines {
		return o.sendLines(ctx, sender, cio)
	}
	body := o.body
	if o.useStdin {
		b, err := io.ReadAll(io.LimitReader(cio.stdin, producer.MaxMessageSize+1))
		if err != nil {
			return fmt.Errorf("read the message from stdin: %w", err)
		}
		body = string(b)
	}
	res, err := sender.Send(ctx, o.queue, []producer.Message{o.message(body)})
	if err != nil {
		return o.explain(err)
	}
	if res[0].Err != nil {
		return o.explain(res[0].Err)
	}
	fmt.Fprintln(cio.stdout, res[0].MessageID)
	return nil
}

// sendLines sends each non-empty line of stdin, ten (and at most 1 MiB)
// to a batch, and prints one id per line sent.
func (o *sendOptions) sendLines(ctx context.Context, sender *sqssender.Sender, cio producerIO) error {
	sc := bufio.NewScanner(cio.stdin)
	sc.Buffer(make([]byte, 64<<10), producer.MaxMessageSize+2)
	var batch []producer.Message
	var lineOf []int // line number of each batch entry
	size, line, failed := 0, 0, 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := sender.Send(ctx, o.queue, batch)
		if err != nil {
			return o.explain(err)
		}
		for i, r := range res {
			if r.Err != nil {
				failed++
				fmt.Fprintf(cio.stderr, "qscale send: line %d: %s: %s\n", lineOf[i], r.Err.Code, r.Err.Message)
				continue
			}
			fmt.Fprintln(cio.stdout, r.MessageID)
		}
		batch, lineOf, size = batch[:0], lineOf[:0], 0
		return nil
	}
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			continue
		}
		if len(batch) == producer.MaxBatch || size+len(text) > producer.MaxMessageSize {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, o.message(text))
		lineOf = append(lineOf, line)
		size += len(text)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin line %d: %w", line+1, err)
	}
	if err := flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d lines were not sent", failed)
	}
	return nil
}
