package sqsapi_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/server"
)

// newClient returns the real aws-sdk-go-v2 SQS client (JSON protocol)
// pointed at endpoint.
func newClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

func setup(t *testing.T) (context.Context, *sqs.Client) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx, newClient(testserver.Start(t))
}

func createQueue(t *testing.T, ctx context.Context, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return *out.QueueUrl
}

// wantCode asserts err is the AWS error code (as the SDK reports it, which
// for SQS is the legacy query code) and, when typ is non-nil, of that type.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want error code %s, got %s (%s)", code, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func TestQueueLifecycle(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "orders", map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "0"})
	if !strings.HasSuffix(url, "/000000000000/orders") || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("queue URL %q", url)
	}
	// Same name, same attributes: the same queue. Different: QueueNameExists.
	if again := createQueue(t, ctx, c, "orders", map[string]string{"VisibilityTimeout": "45"}); again != url {
		t.Fatalf("second create returned %q", again)
	}
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "46"}})
	wantCode(t, err, "QueueAlreadyExists")
	var qne *types.QueueNameExists
	if !errors.As(err, &qne) {
		t.Fatalf("want *types.QueueNameExists, got %T", err)
	}

	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	if err != nil || *got.QueueUrl != url {
		t.Fatalf("GetQueueUrl = %v, %v", got, err)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) {
		t.Fatalf("want QueueDoesNotExist, got %v", err)
	}
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")

	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"VisibilityTimeout": "45", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
		"QueueArn": "arn:aws:sqs:us-east-1:000000000000:orders", "ApproximateNumberOfMessages": "0",
	} {
		if attrs.Attributes[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs.Attributes[k], want)
		}
	}
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"MessageRetentionPeriod": "59"}})
	wantCode(t, err, "InvalidAttributeValue")
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"Colour": "blue"}})
	wantCode(t, err, "InvalidAttributeName")
	_, err = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"Colour"}})
	wantCode(t, err, "InvalidAttributeName")
	if _, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"DelaySeconds": "5"}}); err != nil {
		t.Fatal(err)
	}
	attrs, _ = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"DelaySeconds"}})
	if len(attrs.Attributes) != 1 || attrs.Attributes["DelaySeconds"] != "5" {
		t.Fatalf("after set: %v", attrs.Attributes)
	}

	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
}

func TestCreateQueueValidation(t *testing.T) {
	ctx, c := setup(t)
	for name, attrs := range map[string]map[string]string{
		"bad name!":                         nil,
		"x.fifo":                            nil, // .fifo without FifoQueue
		"y":                                 {"FifoQueue": "true"},
		"toolong" + strings.Repeat("x", 80): nil,
		"z":                                 {"VisibilityTimeout": "43201"},
		"w":                                 {"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`},
	} {
		_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		var ae smithy.APIError
		if !errors.As(err, &ae) || (ae.ErrorCode() != "InvalidParameterValue" && ae.ErrorCode() != "InvalidAttributeValue") {
			t.Errorf("CreateQueue(%q, %v) = %v, want InvalidParameterValue/InvalidAttributeValue", name, attrs, err)
		}
	}
}

func TestListQueuesPaging(t *testing.T) {
	ctx, c := setup(t)
	for i := 0; i < 7; i++ {
		createQueue(t, ctx, c, fmt.Sprintf("page-%d", i), nil)
	}
	createQueue(t, ctx, c, "other", nil)
	var all []string
	var token *string
	pages := 0
	for {
		out, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("page-"), MaxResults: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, out.QueueUrls...)
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if len(all) != 7 || pages != 3 {
		t.Fatalf("got %d queues in %d pages: %v", len(all), pages, all)
	}
	out, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 8 {
		t.Fatalf("unpaged ListQueues = %v, %v", out, err)
	}
	_, err = c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
	wantCode(t, err, "InvalidParameterValue")
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSendReceiveDelete(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "work", nil)
	attrs := map[string]types.MessageAttributeValue{
		"kind":   {DataType: aws.String("String"), StringValue: aws.String("resize")},
		"width":  {DataType: aws.String("Number"), StringValue: aws.String("640")},
		"thumb":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
		"custom": {DataType: aws.String("String.label"), StringValue: aws.String("x")},
	}
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("hello ✓"), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	if *sent.MD5OfMessageBody != md5hex("hello ✓") {
		t.Fatalf("MD5OfMessageBody %s", *sent.MD5OfMessageBody)
	}
	// Known value: the MD5 AWS computes for these four attributes.
	if sent.MD5OfMessageAttributes == nil || len(*sent.MD5OfMessageAttributes) != 32 {
		t.Fatalf("MD5OfMessageAttributes %v", sent.MD5OfMessageAttributes)
	}

	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &url, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 {
		t.Fatalf("received %d messages", len(got.Messages))
	}
	m := got.Messages[0]
	if *m.Body != "hello ✓" || *m.MessageId != *sent.MessageId || *m.MD5OfMessageAttributes != *sent.MD5OfMessageAttributes {
		t.Fatalf("message %+v", m)
	}
	if string(m.MessageAttributes["thumb"].BinaryValue) != string([]byte{0, 1, 2, 255}) || *m.MessageAttributes["width"].StringValue != "640" {
		t.Fatalf("attributes %+v", m.MessageAttributes)
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" || m.Attributes["SenderId"] == "" {
		t.Fatalf("system attributes %v", m.Attributes)
	}
	// Only the named attributes, with the MD5 of those.
	sub := receiveAfterRelease(t, ctx, c, url, *m.ReceiptHandle, []string{"kind"})
	if len(sub.MessageAttributes) != 1 || sub.MessageAttributes["kind"].StringValue == nil {
		t.Fatalf("selected attributes %+v", sub.MessageAttributes)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: sub.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// A deleted message's handle deletes nothing and succeeds, as in SQS.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: sub.ReceiptHandle}); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: aws.String("garbage")})
	var rhi *types.ReceiptHandleIsInvalid
	if !errors.As(err, &rhi) {
		t.Fatalf("want ReceiptHandleIsInvalid, got %v", err)
	}
	n := countMessages(t, ctx, c, url)
	if n != [3]int{0, 0, 0} {
		t.Fatalf("counts after delete %v", n)
	}
}

// receiveAfterRelease makes a received message visible again and receives
// it asking for some message attributes.
func receiveAfterRelease(t *testing.T, ctx context.Context, c *sqs.Client, url, handle string, names []string) types.Message {
	t.Helper()
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &handle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageAttributeNames: names})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive again: %v, %v", got, err)
	}
	return got.Messages[0]
}

func countMessages(t *testing.T, ctx context.Context, c *sqs.Client, url string) [3]int {
	t.Helper()
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{
		"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}})
	if err != nil {
		t.Fatal(err)
	}
	var n [3]int
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &n[0])
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &n[1])
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesDelayed"], &n[2])
	return n
}

func TestSendValidation(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "strict", nil)
	cases := []struct {
		name string
		in   sqs.SendMessageInput
		code string
	}{
		{"oversize", sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("x", 1<<20+1))}, "InvalidParameterValue"},
		{"bad chars", sqs.SendMessageInput{MessageBody: aws.String("a\x00b")}, "InvalidMessageContents"},
		{"delay", sqs.SendMessageInput{MessageBody: aws.String("x"), DelaySeconds: 901}, "InvalidParameterValue"},
		{"attr name", sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"AWS.x": {DataType: aws.String("String"), StringValue: aws.String("v")}}}, "InvalidParameterValue"},
		{"attr number", sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"n": {DataType: aws.String("Number"), StringValue: aws.String("twelve")}}}, "InvalidParameterValue"},
		{"attr type", sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"n": {DataType: aws.String("Date"), StringValue: aws.String("1")}}}, "InvalidParameterValue"},
		{"dedup on standard", sqs.SendMessageInput{MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")}, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		tc.in.QueueUrl = &url
		_, err := c.SendMessage(ctx, &tc.in)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
	attrs := map[string]types.MessageAttributeValue{}
	for i := 0; i < 11; i++ {
		attrs[fmt.Sprintf("a%d", i)] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v")}
	}
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageAttributes: attrs})
	wantCode(t, err, "InvalidParameterValue")
	// Exactly the limit is accepted: 1 MiB of body.
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(strings.Repeat("x", 1<<20))}); err != nil {
		t.Fatalf("1 MiB message refused: %v", err)
	}
}

func TestBatches(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "batch", nil)
	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 10; i++ {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String(fmt.Sprint("body ", i))})
	}
	entries[3].MessageBody = aws.String("bad\x01")
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 9 || len(out.Failed) != 1 || *out.Failed[0].Id != "e3" || *out.Failed[0].Code != "InvalidMessageContents" || !out.Failed[0].SenderFault {
		t.Fatalf("batch result: %d ok, failed %+v", len(out.Successful), out.Failed)
	}
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: append(entries, entries[0])})
	var tooMany *types.TooManyEntriesInBatchRequest
	if !errors.As(err, &tooMany) {
		t.Fatalf("11 entries: %v", err)
	}
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{entries[0], entries[0]}})
	wantCode(t, err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{}})
	wantCode(t, err, "AWS.SimpleQueueService.EmptyBatchRequest")
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("bad id"), MessageBody: aws.String("x")}}})
	wantCode(t, err, "AWS.SimpleQueueService.InvalidBatchEntryId")
	big := strings.Repeat("x", 600_000)
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: &big}, {Id: aws.String("b"), MessageBody: &big}}})
	wantCode(t, err, "AWS.SimpleQueueService.BatchRequestTooLong")

	recv, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil || len(recv.Messages) != 9 {
		t.Fatalf("received %d, %v", len(recv.Messages), err)
	}
	var vis []types.ChangeMessageVisibilityBatchRequestEntry
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range recv.Messages {
		vis = append(vis, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint("v", i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 120})
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("d", i)), ReceiptHandle: m.ReceiptHandle})
	}
	vis = append(vis, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String("bogus"), ReceiptHandle: aws.String("nope"), VisibilityTimeout: 1})
	vout, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: vis})
	if err != nil || len(vout.Successful) != 9 || len(vout.Failed) != 1 || *vout.Failed[0].Code != "ReceiptHandleIsInvalid" {
		t.Fatalf("visibility batch: %+v, %v", vout, err)
	}
	del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String("bogus"), ReceiptHandle: aws.String("nope")})
	dout, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: del})
	if err != nil || len(dout.Successful) != 9 || len(dout.Failed) != 1 {
		t.Fatalf("delete batch: %+v, %v", dout, err)
	}
	if n := countMessages(t, ctx, c, url); n != [3]int{} {
		t.Fatalf("counts %v", n)
	}
}

func TestVisibilityAndDelay(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "vis", nil)
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("later"), DelaySeconds: 600}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("now")}); err != nil {
		t.Fatal(err)
	}
	if n := countMessages(t, ctx, c, url); n != [3]int{1, 0, 1} {
		t.Fatalf("counts %v, want 1 visible 1 delayed", n)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, VisibilityTimeout: 300})
	if err != nil || len(got.Messages) != 1 || *got.Messages[0].Body != "now" {
		t.Fatalf("receive: %v, %v", got, err)
	}
	if n := countMessages(t, ctx, c, url); n != [3]int{0, 1, 1} {
		t.Fatalf("counts %v, want 1 in flight 1 delayed", n)
	}
	h := got.Messages[0].ReceiptHandle
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: h, VisibilityTimeout: 43201})
	wantCode(t, err, "InvalidParameterValue")
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: h, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	// Released: visible again at once, with a new receipt handle; the old
	// one can no longer change visibility.
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(again.Messages) != 1 || again.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("receive after release: %+v, %v", again, err)
	}
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: h, VisibilityTimeout: 10})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 11})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 21})
	wantCode(t, err, "InvalidParameterValue")
}

func TestLongPollWakesOnSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testserver.StartConfig(t, server.Config{})
	c := newClient(s.URL())
	url := createQueue(t, ctx, c, "poll", nil)
	q, err := s.Engine.Queue("poll")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
		done <- result{out, err}
	}()
	// Send only once the receive is parked in the engine.
	<-q.WaiterAdded()
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("wake")}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.out.Messages) != 1 {
		t.Fatalf("long poll: %+v, %v", r.out, r.err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("long poll returned after %v, not at the send", waited)
	}
}

func TestFIFO(t *testing.T) {
	ctx, c := setup(t)
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs.fifo")})
	wantCode(t, err, "InvalidParameterValue")
	url := createQueue(t, ctx, c, "jobs.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})

	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")})
	wantCode(t, err, "MissingParameter")
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), DelaySeconds: 5})
	wantCode(t, err, "InvalidParameterValue")

	var seqs []string
	for i := 0; i < 4; i++ {
		out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(fmt.Sprint("a", i)), MessageGroupId: aws.String("A")})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, *out.SequenceNumber)
	}
	if !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) {
		t.Fatalf("sequence numbers not increasing: %v", seqs)
	}
	// Content-based deduplication: the same body within 5 minutes is the
	// same message.
	dup, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("a0"), MessageGroupId: aws.String("A")})
	if err != nil || *dup.SequenceNumber != seqs[0] {
		t.Fatalf("duplicate send: %v, %v", dup, err)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("b0"), MessageGroupId: aws.String("B")}); err != nil {
		t.Fatal(err)
	}

	first, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 2})
	if err != nil || len(first.Messages) != 2 || *first.Messages[0].Body != "a0" || *first.Messages[1].Body != "a1" {
		t.Fatalf("first receive: %+v, %v", first, err)
	}
	// Group A is locked while a0 and a1 are in flight: only B comes next.
	second, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil || len(second.Messages) != 1 || *second.Messages[0].Body != "b0" {
		t.Fatalf("second receive: %+v, %v", second, err)
	}
	third, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if len(third.Messages) != 0 {
		t.Fatalf("locked groups delivered %d messages", len(third.Messages))
	}
	for _, m := range first.Messages {
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	next, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if err != nil || len(next.Messages) != 2 || *next.Messages[0].Body != "a2" || next.Messages[0].Attributes["MessageGroupId"] != "A" {
		t.Fatalf("after delete: %+v, %v", next, err)
	}

	// Explicit deduplication ids, scoped per queue.
	url2 := createQueue(t, ctx, c, "ids.fifo", map[string]string{"FifoQueue": "true"})
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url2, MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	wantCode(t, err, "InvalidParameterValue")
	for i := 0; i < 2; i++ {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url2, MessageBody: aws.String(fmt.Sprint(i)), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("same")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := countMessages(t, ctx, c, url2); n[0] != 1 {
		t.Fatalf("dedup id kept %d messages", n[0])
	}
}

func TestDeadLetterQueueAndRedrive(t *testing.T) {
	ctx, c := setup(t)
	dlq := createQueue(t, ctx, c, "dead", nil)
	dlqArn := "arn:aws:sqs:us-east-1:000000000000:dead"
	// VisibilityTimeout 0 on the queue: the SDK leaves a zero out of
	// ReceiveMessage, so each receive releases the message at once.
	src := createQueue(t, ctx, c, "live", map[string]string{
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":"2"}`, dlqArn),
		"VisibilityTimeout": "0",
	})
	_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &src, Attributes: map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":0}`, dlqArn)}})
	wantCode(t, err, "InvalidParameterValue")

	sent, _ := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &src, MessageBody: aws.String("poison")})
	for i := 0; i < 2; i++ {
		got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &src})
		if err != nil || len(got.Messages) != 1 {
			t.Fatalf("receive %d: %v, %v", i, got, err)
		}
	}
	// The third receive finds it over maxReceiveCount and moves it.
	got, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &src})
	if len(got.Messages) != 0 {
		t.Fatalf("poison message delivered a third time")
	}
	dead, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &dlq,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if err != nil || len(dead.Messages) != 1 || *dead.Messages[0].MessageId != *sent.MessageId {
		t.Fatalf("dead-letter queue: %+v, %v", dead, err)
	}
	if dead.Messages[0].Attributes["DeadLetterQueueSourceArn"] != "arn:aws:sqs:us-east-1:000000000000:live" {
		t.Fatalf("DeadLetterQueueSourceArn %q", dead.Messages[0].Attributes["DeadLetterQueueSourceArn"])
	}
	// Release it: a move task moves only messages that are not in flight.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &dlq, ReceiptHandle: dead.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	srcs, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq})
	if err != nil || len(srcs.QueueUrls) != 1 || srcs.QueueUrls[0] != src {
		t.Fatalf("dead-letter sources: %v, %v", srcs, err)
	}

	// Redrive back to the source.
	_, err = c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:live")})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:nope")})
	wantCode(t, err, "ResourceNotFoundException")
	task, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	if err != nil {
		t.Fatal(err)
	}
	var status string
	testwait.For(t, 10*time.Second, "the message move task to finish", func() bool {
		l, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
		if err != nil || len(l.Results) != 1 {
			t.Fatalf("list tasks: %v, %v", l, err)
		}
		status = *l.Results[0].Status
		return status == "COMPLETED"
	})
	_, err = c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle})
	wantCode(t, err, "AWS.SimpleQueueService.UnsupportedOperation")
	back, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &src, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(back.Messages) != 1 || *back.Messages[0].Body != "poison" || back.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("after redrive: %+v, %v", back, err)
	}
}

func TestPurgeAndTags(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "purge", nil)
	for i := 0; i < 3; i++ {
		c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")})
	}
	if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	if n := countMessages(t, ctx, c, url); n != [3]int{} {
		t.Fatalf("after purge %v", n)
	}
	_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url})
	var pip *types.PurgeQueueInProgress
	if !errors.As(err, &pip) {
		t.Fatalf("second purge: %v", err)
	}
	wantCode(t, err, "AWS.SimpleQueueService.PurgeQueueInProgress")

	if _, err := c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: &url, Tags: map[string]string{"team": "media", "env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: &url, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: &url})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "media" {
		t.Fatalf("tags %v, %v", tags, err)
	}
}

func TestSignatureVerification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testserver.StartConfig(t, server.Config{Keys: map[string]string{"AKIDGOOD": "good-secret"}})
	good := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDGOOD", "good-secret", "")})
	if _, err := good.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("signed")}); err != nil {
		t.Fatalf("signed request refused: %v", err)
	}
	wrongSecret := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDGOOD", "bad", "")})
	_, err := wrongSecret.ListQueues(ctx, &sqs.ListQueuesInput{})
	wantCode(t, err, "SignatureDoesNotMatch")
	unknown := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWHO", "x", "")})
	_, err = unknown.ListQueues(ctx, &sqs.ListQueuesInput{})
	wantCode(t, err, "InvalidClientTokenId")
}
