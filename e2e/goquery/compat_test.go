package goquery

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// wantMessage asserts an API error with that code and message.
func wantMessage(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Fatalf("want %s %q, got %v", code, msg, err)
	}
}

// The behaviours docs/sqs-compatibility.md records, through the query
// protocol: a dead-letter queue's RedriveAllowPolicy enforced, batch
// entries failing with SQS's wording, attribute names in any script, and
// ChangeMessageVisibility on an expired handle.
func TestQueryProtocolCompatibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := client()
	create := func(name string, attrs map[string]string) string {
		t.Helper()
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
		if err != nil {
			t.Fatalf("CreateQueue %s: %v", name, err)
		}
		return *out.QueueUrl
	}
	const arn = "arn:aws:sqs:us-east-1:000000000000:"
	create("q-closed-dlq", map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`})
	policy := `{"deadLetterTargetArn":"` + arn + `q-closed-dlq","maxReceiveCount":3}`
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q-src"), Attributes: map[string]string{"RedrivePolicy": policy}})
	wantMessage(t, err, "InvalidParameterValue", "Value "+policy+" for parameter RedrivePolicy is invalid. "+
		"Reason: Dead-letter target queue's RedriveAllowPolicy does not allow this queue to use it as a dead-letter queue.")
	_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q-bad-allow"), Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"byQueue"}`}})
	wantMessage(t, err, "InvalidParameterValue", "Invalid value for the parameter RedriveAllowPolicy. Reason: You must specify sourceQueueArns when redrivePermission is set to byQueue.")

	url := create("q-compat", map[string]string{"VisibilityTimeout": "0"})
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("ok"), MessageBody: aws.String("fine"), MessageAttributes: map[string]types.MessageAttributeValue{
			"名前.ünïcode": {DataType: aws.String("String"), StringValue: aws.String("v")}}},
		{Id: aws.String("bad"), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"amazon.x": {DataType: aws.String("String"), StringValue: aws.String("v")}}},
	}})
	if err != nil || len(out.Successful) != 1 || len(out.Failed) != 1 {
		t.Fatalf("SendMessageBatch: %+v, %v", out, err)
	}
	f := out.Failed[0]
	if *f.Id != "bad" || *f.Code != "InvalidParameterValue" || !f.SenderFault ||
		!strings.HasPrefix(aws.ToString(f.Message), "One or more parameters cannot be validated. Reason: Message (user) attribute name 'amazon.x' is invalid.") {
		t.Fatalf("failed entry %s %s %q sender fault %v", *f.Id, *f.Code, aws.ToString(f.Message), f.SenderFault)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageAttributeNames: []string{"All"}})
	if err != nil || len(got.Messages) != 1 || got.Messages[0].MessageAttributes["名前.ünïcode"].StringValue == nil {
		t.Fatalf("receive: %+v, %v", got, err)
	}
	// The queue's visibility timeout is 0: the handle has expired, and on a
	// standard queue changing it succeeds and leaves the message visible.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: got.Messages[0].ReceiptHandle, VisibilityTimeout: 300}); err != nil {
		t.Fatalf("ChangeMessageVisibility on an expired handle: %v", err)
	}
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("receive after the change: %+v, %v", again, err)
	}
	dout, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("bad"), ReceiptHandle: aws.String("nope")}}})
	if err != nil || len(dout.Failed) != 1 || *dout.Failed[0].Code != "ReceiptHandleIsInvalid" ||
		aws.ToString(dout.Failed[0].Message) != `The input receipt handle "nope" is not a valid receipt handle.` || !dout.Failed[0].SenderFault {
		t.Fatalf("DeleteMessageBatch: %+v, %v", dout, err)
	}
}
