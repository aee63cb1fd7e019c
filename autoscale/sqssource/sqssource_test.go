package sqssource_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/internal/mototest"
)

func TestObserveAgainstMoto(t *testing.T) {
	t.Parallel()
	endpoint := mototest.StartT(t)
	ctx := t.Context()
	client := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(fmt.Sprint("m", i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("later"), DelaySeconds: 600}); err != nil {
		t.Fatal(err)
	}
	src, err := sqssource.FromConfig(ctx, autoscale.QueueConfig{URL: *q.QueueUrl, Endpoint: endpoint, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	before, err := src.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK retries a send that timed out on a loaded machine, which can
	// store a message twice (at-least-once): compare against the count
	// observed before receiving rather than against 5.
	if before.Visible < 5 || before.InFlight != 0 || before.Delayed != 1 {
		t.Fatalf("before receiving: %+v, want 5 (or more) visible, 0 in flight, 1 delayed", before)
	}
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 600})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("receive: %v, %d messages", err, len(got.Messages))
	}
	st, err := src.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Visible != before.Visible-2 || st.InFlight != 2 || st.Delayed != 1 {
		t.Fatalf("after receiving 2: %+v, want %d visible, 2 in flight, 1 delayed", st, before.Visible-2)
	}

	missing := sqssource.New(client, endpoint+"/123456789012/missing")
	if _, err := missing.Observe(ctx); err == nil {
		t.Fatal("observing a missing queue succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.Observe(cctx); err == nil {
		t.Fatal("observing with a cancelled context succeeded")
	}
}
