package sqsapi_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// wantError asserts err is the AWS error code with that HTTP status and
// message, as the real SDK reports them.
func wantError(t *testing.T, err error, code string, status int, message string) {
	t.Helper()
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || re.HTTPStatusCode() != status || ae.ErrorMessage() != message {
		t.Fatalf("got %s %d %q; want %s %d %q", ae.ErrorCode(), re.HTTPStatusCode(), ae.ErrorMessage(), code, status, message)
	}
}

// A malformed receipt handle is ReceiptHandleIsInvalid with status 400
// and AWS's message, on DeleteMessage and ChangeMessageVisibility alike.
func TestMalformedReceiptHandle(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "handles", nil)
	const msg = `The input receipt handle "not-a-handle" is not a valid receipt handle.`
	_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: aws.String("not-a-handle")})
	wantError(t, err, "ReceiptHandleIsInvalid", 400, msg)
	var rhi *types.ReceiptHandleIsInvalid
	if !errors.As(err, &rhi) {
		t.Fatalf("want *types.ReceiptHandleIsInvalid, got %T", err)
	}
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: aws.String("not-a-handle"), VisibilityTimeout: 5})
	wantError(t, err, "ReceiptHandleIsInvalid", 400, msg)
}

// FifoQueue is an attribute of FIFO queues only: on a standard queue it is
// unknown, even "false"; on a FIFO queue it cannot be turned off.
func TestFifoQueueAttribute(t *testing.T) {
	ctx, c := setup(t)
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("plain"), Attributes: map[string]string{"FifoQueue": "false"}})
	wantError(t, err, "InvalidAttributeName", 400, "Unknown Attribute FifoQueue.")
	plain := createQueue(t, ctx, c, "plain", nil)
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &plain, Attributes: map[string]string{"FifoQueue": "false"}})
	wantError(t, err, "InvalidAttributeName", 400, "Unknown Attribute FifoQueue.")
	fifo := createQueue(t, ctx, c, "ordered.fifo", map[string]string{"FifoQueue": "true"})
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &fifo, Attributes: map[string]string{"FifoQueue": "false"}})
	wantError(t, err, "InvalidAttributeValue", 400, "Modifying queue type is not supported.")
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &fifo, Attributes: map[string]string{"FifoQueue": "true"}}); err != nil {
		t.Fatal(err)
	}
}

// A FIFO queue takes a per-message DelaySeconds of 0 (the SDK leaves a
// zero out, so the request is sent raw, in both protocols); any other
// delay is refused.
func TestFIFODelayZero(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	if rec := jsonCall(h, "CreateQueue", `{"QueueName":"f.fifo","Attributes":{"FifoQueue":"true","ContentBasedDeduplication":"true"}}`, -1); rec.Code != 200 {
		t.Fatalf("CreateQueue: %d %s", rec.Code, rec.Body)
	}
	if rec := jsonCall(h, "SendMessage", `{"QueueUrl":"/000000000000/f.fifo","MessageBody":"a","MessageGroupId":"g","DelaySeconds":0}`, -1); rec.Code != 200 {
		t.Fatalf("JSON DelaySeconds 0: %d %s", rec.Code, rec.Body)
	}
	req := queryCall(h, "Action=SendMessage&QueueUrl=%2F000000000000%2Ff.fifo&MessageBody=b&MessageGroupId=g&DelaySeconds=0")
	if req.Code != 200 {
		t.Fatalf("query DelaySeconds 0: %d %s", req.Code, req.Body)
	}
	wantJSONError(t, jsonCall(h, "SendMessage", `{"QueueUrl":"/000000000000/f.fifo","MessageBody":"c","MessageGroupId":"g","DelaySeconds":1}`, -1), 400,
		"InvalidParameterValue", "Value 1 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.")
}

// A FIFO SendMessageBatch is validated as a whole: an entry without a
// MessageGroupId fails the request, and nothing is sent.
func TestFIFOBatchWithoutGroup(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "batch.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")},
		{Id: aws.String("b"), MessageBody: aws.String("y")},
	}})
	wantError(t, err, "InvalidParameterValue", 400, "The request must contain the parameter MessageGroupId.")
	if n := countMessages(t, ctx, c, url); n[0] != 0 {
		t.Fatalf("a refused batch sent %d messages", n[0])
	}
}
