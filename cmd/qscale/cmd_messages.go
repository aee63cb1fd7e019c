package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/peekapi"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsconn"
)

// adminURLEnv names the admin listener `qscale messages` asks by default.
const adminURLEnv = "QSCALE_ADMIN_URL"

// messagesOptions are the flags of `qscale messages`, shared by its
// subcommands.
type messagesOptions struct {
	sub  string   // list, peek or redrive
	args []string // the subcommand's arguments

	admin      string // the admin listener's URL
	adminToken string
	limit      int
	after      uint64
	asJSON     bool

	to       string // redrive: destination queue; "" = each message's source
	rate     int    // redrive: messages per second; 0 = as fast as possible
	endpoint string // redrive: SQS endpoint
	region   string
	poll     time.Duration
}

func parseMessagesFlags(args []string, stdout io.Writer) (messagesOptions, error) {
	var o messagesOptions
	fs := newFlags("messages", `list and peek show a queue's messages without receiving them: their receive
counts and visibility do not change. They ask a qscale server's admin
listener (qscale server --admin-listen); Amazon SQS has no such call.
redrive moves a dead-letter queue's messages back to the queues they came
from (or to --to) with the SQS StartMessageMoveTask call, and shows the
task's progress until it ends.`,
		"qscale messages list QUEUE [--limit N] [--after CURSOR] [--admin URL]",
		"qscale messages peek QUEUE MESSAGE-ID [--admin URL]",
		"qscale messages redrive DEAD-LETTER-QUEUE [--to QUEUE] [--endpoint-url URL]")
	fs.out = stdout
	fs.group("Admin listener (list, peek)")
	defAdmin := os.Getenv(adminURLEnv)
	if defAdmin == "" {
		defAdmin = "http://" + defaultAdminListen
	}
	fs.StringVar(&o.admin, "admin", defAdmin, "URL of the admin listener (also $"+adminURLEnv+"); for qscale up's dashboard, its address followed by /api/queues/")
	fs.StringVar(&o.adminToken, "admin-token", "", "the admin listener's token (also $"+adminTokenEnv+")")
	fs.group("Listing")
	fs.IntVar(&o.limit, "limit", queue.DefaultPeekLimit, "list: messages to show, 1.."+strconv.Itoa(queue.MaxPeekLimit))
	fs.Uint64Var(&o.after, "after", 0, "list: start after this cursor (the 'next' a previous list printed)")
	fs.BoolVar(&o.asJSON, "json", false, "list, peek: print the admin listener's JSON")
	fs.group("Redrive")
	fs.StringVar(&o.to, "to", "", "redrive: move the messages to this queue (name or URL) instead of the queues they came from")
	fs.IntVar(&o.rate, "rate", 0, "redrive: messages per second, 1..500 (default: as fast as possible)")
	fs.StringVar(&o.endpoint, "endpoint-url", "", "redrive: SQS endpoint (default: $AWS_ENDPOINT_URL_SQS, $AWS_ENDPOINT_URL, the queue URL's host, else the local server "+sqsconn.DefaultEndpoint+")")
	fs.StringVar(&o.region, "region", "", "redrive: AWS region (default: the queue URL's, $AWS_REGION, the profile's, "+sqsconn.DefaultRegion+")")
	fs.DurationVar(&o.poll, "poll", time.Second, "redrive: how often to read the task's progress")
	// Flags may come before, between and after the arguments.
	var pos []string
	for {
		if err := fs.parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if o.adminToken == "" {
		o.adminToken = os.Getenv(adminTokenEnv)
	}
	if len(pos) == 0 {
		return o, usagef("which: list, peek or redrive? (qscale messages -h)")
	}
	o.sub, o.args = pos[0], pos[1:]
	want := map[string]int{"list": 1, "peek": 2, "redrive": 1}
	n, ok := want[o.sub]
	switch {
	case !ok:
		return o, usagef("unknown subcommand %q: want list, peek or redrive", o.sub)
	case len(o.args) != n && o.sub == "peek":
		return o, usagef("peek takes a queue and a message ID: qscale messages peek QUEUE MESSAGE-ID")
	case len(o.args) != n:
		return o, usagef("%s takes one queue: qscale messages %s QUEUE", o.sub, o.sub)
	case o.limit < 1 || o.limit > queue.MaxPeekLimit:
		return o, usagef("--limit must be 1..%d, not %d", queue.MaxPeekLimit, o.limit)
	case o.rate != 0 && (o.rate < 1 || o.rate > 500):
		return o, usagef("--rate must be 1..500 messages per second, not %d", o.rate)
	case o.poll <= 0:
		return o, usagef("--poll must be positive")
	}
	if o.sub != "redrive" && !queue.ValidQueueName(o.args[0]) {
		return o, usagef("%q is not a queue name", o.args[0])
	}
	return o, nil
}

func runMessages(ctx context.Context, args []string) error {
	return messagesCommand(ctx, args, os.Stdout, os.Stderr)
}

func messagesCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseMessagesFlags(args, stdout)
	if err != nil {
		return err
	}
	switch o.sub {
	case "list":
		return o.list(ctx, stdout)
	case "peek":
		return o.peek(ctx, stdout)
	default:
		return o.redrive(ctx, stdout, stderr)
	}
}

// client returns the admin listener's client; a URL with a path (a
// dashboard's /api/queues/) keeps it as the prefix of the routes.
func (o *messagesOptions) client() *peekapi.Client {
	return &peekapi.Client{BaseURL: o.admin, Token: o.adminToken}
}

// explain makes an admin listener error readable.
func (o *messagesOptions) explain(err error) error {
	var pe *peekapi.Error
	if errors.As(err, &pe) {
		switch pe.Status {
		case 401:
			return fmt.Errorf("%s asks for its token: --admin-token or $%s", o.admin, adminTokenEnv)
		case 404:
			if pe.Code == "" {
				return fmt.Errorf("%s has no message browser (is it a qscale server's admin listener?)", o.admin)
			}
		}
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w (is 'qscale server' running with its admin listener there? --admin or $%s)", err, adminURLEnv)
}

func (o *messagesOptions) list(ctx context.Context, w io.Writer) error {
	page, err := o.client().Peek(ctx, o.args[0], queue.PeekOptions{After: o.after, Limit: o.limit})
	if err != nil {
		return o.explain(err)
	}
	if o.asJSON {
		return printJSON(w, page)
	}
	fmt.Fprintf(w, "queue %s: %d visible, %d in flight, %d delayed\n", page.Queue, page.Visible, page.InFlight, page.Delayed)
	if len(page.Messages) == 0 {
		fmt.Fprintln(w, "no messages")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tRECEIVES\tAGE\tSIZE\tBODY")
	for _, m := range page.Messages {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\n", m.ID, m.State, m.ReceiveCount, age(m.AgeMillis), m.BodySize, oneLine(m.Body, 48))
	}
	tw.Flush()
	if page.Next != 0 {
		fmt.Fprintf(w, "more: qscale messages list %s --after %d\n", page.Queue, page.Next)
	}
	return nil
}

func (o *messagesOptions) peek(ctx context.Context, w io.Writer) error {
	m, err := o.client().PeekMessage(ctx, o.args[0], o.args[1])
	if err != nil {
		return o.explain(err)
	}
	if o.asJSON {
		return printJSON(w, m)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("MessageId", m.ID)
	row("State", m.State)
	row("ReceiveCount", strconv.Itoa(m.ReceiveCount))
	row("Sent", m.SentAt.UTC().Format(time.RFC3339Nano)+" ("+age(m.AgeMillis)+" ago)")
	if !m.VisibleAt.IsZero() {
		row("VisibleAt", m.VisibleAt.UTC().Format(time.RFC3339Nano))
	}
	if !m.FirstReceiveAt.IsZero() {
		row("FirstReceived", m.FirstReceiveAt.UTC().Format(time.RFC3339Nano))
	}
	row("MessageGroupId", m.GroupID)
	row("DeduplicationId", m.DedupID)
	row("SequenceNumber", m.SequenceNumber)
	row("DeadLetterSource", m.DeadLetterSource)
	row("MD5OfBody", m.BodyMD5)
	names := make([]string, 0, len(m.Attributes))
	for k := range m.Attributes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		a := m.Attributes[k]
		v := a.StringValue
		if a.BinaryValue != nil {
			v = fmt.Sprintf("%d bytes", len(a.BinaryValue))
		}
		row("attribute "+k, a.DataType+" "+v)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", m.Body)
	return nil
}

// age prints a duration in milliseconds the way people read an age.
func age(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Second:
		return d.String()
	case d < time.Hour:
		return d.Truncate(time.Second).String()
	}
	return d.Truncate(time.Minute).String()
}

// oneLine shows the start of a body on one line.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// redriveAPI is what redrive calls; *sqs.Client implements it.
type redriveAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, opts ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, opts ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
}

var _ redriveAPI = (*sqs.Client)(nil)

func (o *messagesOptions) redrive(ctx context.Context, stdout, stderr io.Writer) error {
	so := sqsconn.Options{Endpoint: o.endpoint, Region: o.region}
	if isQueueURL(o.args[0]) {
		so.QueueURL = o.args[0]
	}
	api, where, err := sqsconn.New(ctx, so)
	if err != nil {
		return usagef("%v", err)
	}
	src, err := queueARN(ctx, api, o.args[0])
	if err != nil {
		return fmt.Errorf("%w (at %s)", err, where.URL)
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src)}
	dest := "the queues they came from"
	if o.to != "" {
		d, err := queueARN(ctx, api, o.to)
		if err != nil {
			return err
		}
		in.DestinationArn, dest = aws.String(d), queueNameOf(o.to)
	}
	if o.rate > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(o.rate))
	}
	if _, err := api.StartMessageMoveTask(ctx, in); err != nil {
		return fmt.Errorf("StartMessageMoveTask: %w", err)
	}
	fmt.Fprintf(stderr, "qscale messages: moving the messages of %s to %s\n", queueNameOf(o.args[0]), dest)
	return watchMoveTask(ctx, api, src, o.poll, stdout)
}

// watchMoveTask prints the newest move task of src each time its progress
// changes, until it ends; a task that failed is an error. Interrupting the
// watch leaves the task running.
func watchMoveTask(ctx context.Context, api redriveAPI, src string, poll time.Duration, w io.Writer) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	last := ""
	for {
		out, err := api.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src), MaxResults: aws.Int32(1)})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("stopped watching; the task goes on (aws sqs list-message-move-tasks --source-arn %s)", src)
			}
			return fmt.Errorf("ListMessageMoveTasks: %w", err)
		}
		if len(out.Results) == 0 {
			return errors.New("ListMessageMoveTasks lists no task for the queue")
		}
		r := out.Results[0]
		status := aws.ToString(r.Status)
		line := fmt.Sprintf("%s: moved %d of %d", status, r.ApproximateNumberOfMessagesMoved, aws.ToInt64(r.ApproximateNumberOfMessagesToMove))
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
		switch status {
		case "COMPLETED":
			return nil
		case "FAILED":
			return fmt.Errorf("the move task failed: %s", aws.ToString(r.FailureReason))
		case "CANCELLED":
			return errors.New("the move task was cancelled")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped watching; the task goes on (aws sqs list-message-move-tasks --source-arn %s)", src)
		case <-t.C:
		}
	}
}

func isQueueURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// queueARN returns the ARN of a queue given by name or URL.
func queueARN(ctx context.Context, api redriveAPI, q string) (string, error) {
	u := q
	if !isQueueURL(q) {
		out, err := api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q)})
		if err != nil {
			return "", fmt.Errorf("queue %s: %w", q, err)
		}
		u = aws.ToString(out.QueueUrl)
	}
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", q, err)
	}
	return out.Attributes["QueueArn"], nil
}
