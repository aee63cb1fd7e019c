package goquery

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// A message attribute type that is not valid Unicode is refused at the
// send. It used to be accepted, then answered altered, and the SDK's MD5
// check failed the receive.
func TestQueryProtocolInvalidAttributeType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := client()
	cq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("query-attr-type")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String.\xff"), StringValue: aws.String("v")}}})
	wantCode(t, err, "InvalidParameterValue")
	// A custom label in valid characters goes through and comes back whole.
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String.ünïcode"), StringValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl, MessageAttributeNames: []string{"All"}})
	if err != nil || len(got.Messages) != 1 || *got.Messages[0].MD5OfMessageAttributes != *sent.MD5OfMessageAttributes {
		t.Fatalf("receive %+v, %v", got, err)
	}
}
