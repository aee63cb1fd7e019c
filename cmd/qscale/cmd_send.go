package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/producer/sqssender"
	"github.com/qscale/qscale/sqsconn"
)

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
// --endpoint-url and --region, by package sqsconn's rules: without an
// endpoint or a queue URL that names one, the local qscale server.
type queueTarget struct {
	queue    string
	endpoint string // --endpoint-url
	region   string
	where    sqsconn.Endpoint // resolved by check, completed by dial
}

func (t *queueTarget) flags(fs *cliFlags) {
	fs.group("Queue")
	fs.StringVar(&t.queue, "queue", "", "queue name or URL (required)")
	fs.StringVar(&t.endpoint, "endpoint-url", "", "SQS endpoint (default: $AWS_ENDPOINT_URL_SQS, $AWS_ENDPOINT_URL, the queue URL's host, else the local server "+sqsconn.DefaultEndpoint+")")
	fs.StringVar(&t.region, "region", "", "AWS region (default: the queue URL's, $AWS_REGION, the profile's, "+sqsconn.DefaultRegion+")")
}

func (t *queueTarget) options() sqsconn.Options {
	o := sqsconn.Options{Endpoint: t.endpoint, Region: t.region}
	if sqssender.IsURL(t.queue) {
		o.QueueURL = t.queue
	}
	return o
}

// check checks the flags and resolves the endpoint.
func (t *queueTarget) check(ctx context.Context) error {
	if t.queue == "" {
		return usagef("--queue is required (a queue name or URL)")
	}
	if !sqssender.IsURL(t.queue) && strings.Contains(t.queue, "/") {
		return usagef("--queue %q: want a queue name or an http(s):// queue URL", t.queue)
	}
	where, err := sqsconn.Resolve(ctx, t.options())
	if err != nil {
		return usagef("%v", err)
	}
	t.where = where
	return nil
}

// dial returns a sender for t whose SDK client makes at most attempts
// attempts per call, with backoff up to maxBackoff between them.
func (t *queueTarget) dial(ctx context.Context, conns, attempts int, maxBackoff time.Duration) (*sqssender.Sender, error) {
	o := t.options()
	o.MaxConns, o.MaxAttempts, o.MaxBackoff = conns, attempts, maxBackoff
	sender, where, err := sqssender.Dial(ctx, o)
	if err != nil {
		return nil, err
	}
	t.where = where
	return sender, nil
}

// explain makes a producer error readable on the command line.
func (t *queueTarget) explain(err error) error {
	var pe *producer.Error
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.Code == producer.CodeNonExistentQueue:
		how := "--endpoint-url " + t.where.URL
		if t.where.AWS {
			how = "--region " + t.where.Region
		}
		return fmt.Errorf("queue %q does not exist at %s (create it with: aws sqs create-queue %s --queue-name %s)",
			t.queue, t.where.URL, how, queueNameOf(t.queue))
	case pe.Code == producer.CodeServiceUnavailable && pe.Status == 502:
		hint := ""
		if t.where.Source == sqsconn.FromDefault {
			hint = " (the default endpoint: is 'qscale up' or 'qscale server' running?)"
		}
		return fmt.Errorf("cannot reach %s%s: %s", t.where.URL, hint, strings.TrimPrefix(pe.Message, "The SQS endpoint could not be reached: "))
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

func parseSendFlags(ctx context.Context, args []string, stderr io.Writer) (sendOptions, error) {
	o := sendOptions{attrs: map[string]producer.Attribute{}}
	fs := newFlags("send", `Sends BODY (or stdin with -) and prints the message id. Without --endpoint-url
or a queue URL, the queue is on the local server, `+sqsconn.DefaultEndpoint+`.`, "qscale send --queue NAME|URL [flags] [BODY | -]")
	o.queueTarget.flags(fs)
	fs.group("Message")
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
	if err := fs.parse(args); err != nil {
		return o, err
	}
	if err := o.queueTarget.check(ctx); err != nil {
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
	o, err := parseSendFlags(ctx, args, cio.stderr)
	if err != nil {
		return err
	}
	sender, err := o.dial(ctx, 4, 3, time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(cio.stderr, "qscale send: queue %s at %s\n", queueNameOf(o.queue), o.where)
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
