package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/sqsconn"
)

// producerSetup starts a queue server with one queue and returns its
// endpoint, the queue's URL and an SDK client to check what arrived.
func producerSetup(t *testing.T, queue string, attrs map[string]string) (endpoint, queueURL string, api *sqs.Client) {
	t.Helper()
	endpoint = testserver.Start(t)
	api, _, err := sqsconn.New(t.Context(), sqsconn.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(queue), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return endpoint, aws.ToString(out.QueueUrl), api
}

// queueCounts returns the visible and delayed counts of a queue.
func queueCounts(t *testing.T, api *sqs.Client, url string) (visible, delayed int) {
	t.Helper()
	out, err := api.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	delayed, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesDelayed"])
	return visible, delayed
}

type producerTestIO struct {
	producerIO
	out, errOut *bytes.Buffer
}

func newProducerTestIO(stdin string, clk clock.Clock) producerTestIO {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return producerTestIO{producerIO{stdin: strings.NewReader(stdin), stdout: out, stderr: errOut, clock: clk}, out, errOut}
}

func TestSendCommand(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "demo", nil)

	tio := newProducerTestIO("", clock.Real{})
	if err := sendCommand(t.Context(), []string{"--queue", "demo", "--endpoint-url", endpoint, "--attr", "tenant=acme", "--attr", "n:Number=42", "hello world"}, tio.producerIO); err != nil {
		t.Fatalf("send: %v (stderr %s)", err, tio.errOut)
	}
	id := strings.TrimSpace(tio.out.String())
	// Body from stdin, and the queue given by its URL alone.
	tio2 := newProducerTestIO("from stdin\n", clock.Real{})
	if err := sendCommand(t.Context(), []string{"--queue", q, "-"}, tio2.producerIO); err != nil {
		t.Fatalf("send -: %v", err)
	}
	out, err := api.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]types.Message{}
	for _, m := range out.Messages {
		got[aws.ToString(m.Body)] = m
	}
	m, ok := got["hello world"]
	if !ok || aws.ToString(m.MessageId) != id || id == "" {
		t.Fatalf("received %v; printed id %q", got, id)
	}
	if aws.ToString(m.MessageAttributes["tenant"].StringValue) != "acme" || aws.ToString(m.MessageAttributes["n"].DataType) != "Number" {
		t.Fatalf("attributes %+v", m.MessageAttributes)
	}
	if _, ok := got["from stdin\n"]; !ok {
		t.Fatalf("stdin body not received: %v", got)
	}
}

func TestSendLinesAndDelay(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "lines", nil)
	var in strings.Builder
	for i := range 25 {
		in.WriteString("line " + strconv.Itoa(i) + "\n")
		if i == 12 {
			in.WriteString("\n") // empty lines are skipped
		}
	}
	tio := newProducerTestIO(in.String(), clock.Real{})
	if err := sendCommand(t.Context(), []string{"--queue", "lines", "--endpoint-url", endpoint, "--lines"}, tio.producerIO); err != nil {
		t.Fatalf("send --lines: %v (stderr %s)", err, tio.errOut)
	}
	if ids := strings.Fields(tio.out.String()); len(ids) != 25 {
		t.Fatalf("printed %d ids, want 25", len(ids))
	}
	tio = newProducerTestIO("", clock.Real{})
	if err := sendCommand(t.Context(), []string{"--queue", "lines", "--endpoint-url", endpoint, "--delay", "600", "later"}, tio.producerIO); err != nil {
		t.Fatal(err)
	}
	if v, d := queueCounts(t, api, q); v != 25 || d != 1 {
		t.Fatalf("visible %d delayed %d, want 25 and 1", v, d)
	}
}

func TestSendFIFO(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "jobs.fifo", map[string]string{"FifoQueue": "true"})
	for range 2 { // the second is a duplicate
		tio := newProducerTestIO("", clock.Real{})
		if err := sendCommand(t.Context(), []string{"--queue", "jobs.fifo", "--endpoint-url", endpoint, "--group", "g", "--dedup", "d", "job"}, tio.producerIO); err != nil {
			t.Fatal(err)
		}
	}
	tio := newProducerTestIO("", clock.Real{})
	err := sendCommand(t.Context(), []string{"--queue", "jobs.fifo", "--endpoint-url", endpoint, "job"}, tio.producerIO)
	if err == nil || !strings.Contains(err.Error(), "MessageGroupId") {
		t.Fatalf("send without a group: %v", err)
	}
	if v, _ := queueCounts(t, api, q); v != 1 {
		t.Fatalf("visible %d, want 1", v)
	}
}

func TestSendReadableErrors(t *testing.T) {
	t.Parallel()
	endpoint, _, _ := producerSetup(t, "demo", nil)
	tio := newProducerTestIO("", clock.Real{})
	err := sendCommand(t.Context(), []string{"--queue", "nope", "--endpoint-url", endpoint, "x"}, tio.producerIO)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), `queue "nope" does not exist at `+endpoint) {
		t.Fatalf("unknown queue: %v", err)
	}
	// Nothing listens on a closed server's port.
	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.URL
	closed.Close()
	err = sendCommand(t.Context(), []string{"--queue", "demo", "--endpoint-url", addr, "x"}, tio.producerIO)
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot reach "+addr) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestSendBadFlags(t *testing.T) {
	bad := [][]string{
		{"x"},                      // no queue
		{"--queue", "q"},           // no body
		{"--queue", "q", "a", "b"}, // two bodies
		{"--queue", "q", "--delay", "901", "x"},
		{"--queue", "q", "--delay", "-2", "x"},
		{"--queue", "q", "--attr", "novalue", "x"},
		{"--queue", "q", "--attr", "k:Colour=v", "x"},
		{"--queue", "q", "--lines", "body"},
		{"--queue", "q", "--lines", "--dedup", "d"},
		{"--queue", "q", "--endpoint-url", "localhost:9324", "x"},
		{"--queue", "a/b", "x"},
		{"--queue", "q", "--no-such-flag", "x"},
	}
	for _, args := range bad {
		_, err := parseSendFlags(t.Context(), args, &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL_SQS", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_REGION", "")
	for _, tc := range []struct {
		args   []string
		want   string
		source sqsconn.Source
	}{
		{[]string{"--queue", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "x"}, "https://sqs.eu-west-1.amazonaws.com", sqsconn.FromQueueURL},
		{[]string{"--queue", "http://127.0.0.1:4566/000000000000/q", "x"}, "http://127.0.0.1:4566", sqsconn.FromQueueURL},
		{[]string{"--queue", "q", "x"}, sqsconn.DefaultEndpoint, sqsconn.FromDefault},
		{[]string{"--queue", "q", "--region", "eu-west-1", "x"}, sqsconn.DefaultEndpoint, sqsconn.FromDefault},
		{[]string{"--queue", "q", "--endpoint-url", "https://sqs.eu-west-1.amazonaws.com", "x"}, "https://sqs.eu-west-1.amazonaws.com", sqsconn.FromOption},
	} {
		o, err := parseSendFlags(t.Context(), tc.args, &bytes.Buffer{})
		if err != nil || o.where.URL != tc.want || o.where.Source != tc.source {
			t.Errorf("%q: endpoint %s, err %v; want %s (%s)", tc.args, o.where, err, tc.want, tc.source)
		}
	}
}
