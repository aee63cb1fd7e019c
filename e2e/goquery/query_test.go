// Package goquery runs the aws-sdk-go-v2 SQS client of the query-protocol
// era (service/sqs v1.26.0: form-encoded Action=..., XML answers) against a
// real `qscale server` process. It is its own module so the main module
// keeps the current, JSON-protocol SDK.
package goquery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

var endpoint string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

// run builds qscale, starts `qscale server --in-memory` on a free loopback
// port, runs the tests and stops the server by its PID.
func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "qscale-goquery")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "qscale")
	build := exec.Command("go", "build", "-o", bin, "./cmd/qscale")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build qscale: %v\n%s", err, out)
	}
	addrFile := filepath.Join(dir, "addr")
	srv := exec.Command(bin, "server", "--in-memory", "--listen", "127.0.0.1:0", "--addr-file", addrFile)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			endpoint = "http://" + string(b)
			break
		}
		if time.Now().After(deadline) {
			return 0, errors.New("qscale server did not start in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return m.Run(), nil
}

func client() *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
	})
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want error code %s, got %v", code, err)
	}
}

func TestQueryProtocolCycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := client()
	cq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("query-cycle"),
		Attributes: map[string]string{"VisibilityTimeout": "40"}, Tags: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	url := cq.QueueUrl
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil || attrs.Attributes["VisibilityTimeout"] != "40" || attrs.Attributes["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:query-cycle" {
		t.Fatalf("attributes %v, %v", attrs, err)
	}
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("<xml & friends>"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"s": {DataType: aws.String("String"), StringValue: aws.String("v")},
			"b": {DataType: aws.String("Binary"), BinaryValue: []byte{9, 8, 7}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10,
		AttributeNames: []types.QueueAttributeName{"All"}, MessageAttributeNames: []string{"All"}})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive %v, %v", got, err)
	}
	m := got.Messages[0]
	if *m.Body != "<xml & friends>" || *m.MessageId != *sent.MessageId || *m.MD5OfMessageAttributes != *sent.MD5OfMessageAttributes ||
		string(m.MessageAttributes["b"].BinaryValue) != "\x09\x08\x07" || m.Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("message %+v", m)
	}
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: url})
	if err != nil || tags.Tags["team"] != "a" {
		t.Fatalf("tags %v, %v", tags, err)
	}
	list, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("query-cycle")})
	if err != nil || len(list.QueueUrls) != 1 || list.QueueUrls[0] != *url {
		t.Fatalf("list %v, %v", list, err)
	}
	if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: url}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: url})
	var pip *types.PurgeQueueInProgress
	if !errors.As(err, &pip) {
		t.Fatalf("second purge: %v", err)
	}
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: url}); err != nil {
		t.Fatal(err)
	}
}

func TestQueryProtocolErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := client()
	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nowhere")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) {
		t.Fatalf("want QueueDoesNotExist, got %v", err)
	}
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")

	cq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("query-errors")})
	if err != nil {
		t.Fatal(err)
	}
	url := cq.QueueUrl
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(strings.Repeat("x", 1<<20+1))})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: aws.String("bogus")})
	var rhi *types.ReceiptHandleIsInvalid
	if !errors.As(err, &rhi) {
		t.Fatalf("want ReceiptHandleIsInvalid, got %v", err)
	}
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: url, Attributes: map[string]string{"Nope": "1"}})
	wantCode(t, err, "InvalidAttributeName")

	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 11; i++ {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String("x")})
	}
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
	var tooMany *types.TooManyEntriesInBatchRequest
	if !errors.As(err, &tooMany) {
		t.Fatalf("want TooManyEntriesInBatchRequest, got %v", err)
	}
	entries = entries[:3]
	entries[1].MessageBody = aws.String("\x00")
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
	if err != nil || len(out.Successful) != 2 || len(out.Failed) != 1 || *out.Failed[0].Code != "InvalidMessageContents" {
		t.Fatalf("partial batch %+v, %v", out, err)
	}
	recv, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10})
	if err != nil || len(recv.Messages) != 2 {
		t.Fatalf("receive %v, %v", recv, err)
	}
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range recv.Messages {
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("d", i)), ReceiptHandle: m.ReceiptHandle})
	}
	dout, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: del})
	if err != nil || len(dout.Successful) != 2 {
		t.Fatalf("delete batch %+v, %v", dout, err)
	}
}

func TestQueryProtocolFIFOAndRedrive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := client()
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q-dead.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q-src.fifo"), Attributes: map[string]string{
		"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:q-dead.fifo","maxReceiveCount":1}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"one", "two"} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: src.QueueUrl, MessageBody: aws.String(body), MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != 2 || *got.Messages[0].Body != "one" {
		t.Fatalf("fifo receive %+v, %v", got, err)
	}
	// Received once with maxReceiveCount 1: the next receive moves both.
	got, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, MaxNumberOfMessages: 10})
	if len(got.Messages) != 0 {
		t.Fatalf("delivered past maxReceiveCount: %d", len(got.Messages))
	}
	srcs, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: dlq.QueueUrl})
	if err != nil || len(srcs.QueueUrls) != 1 {
		t.Fatalf("dead-letter sources %v, %v", srcs, err)
	}
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q-dead.fifo")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q-dead.fifo")})
		if err != nil || len(l.Results) != 1 {
			t.Fatalf("list move tasks %v, %v", l, err)
		}
		if *l.Results[0].Status == "COMPLETED" {
			if l.Results[0].ApproximateNumberOfMessagesMoved != 2 {
				t.Fatalf("moved %d", l.Results[0].ApproximateNumberOfMessagesMoved)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("move task still %s", *l.Results[0].Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	back, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil || len(back.Messages) != 2 || *back.Messages[0].Body != "one" || *back.Messages[1].Body != "two" {
		t.Fatalf("after redrive %+v, %v", back, err)
	}
}
