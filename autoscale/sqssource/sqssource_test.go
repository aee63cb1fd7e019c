package sqssource_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/mototest"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/server"
)

func TestObserveAgainstMoto(t *testing.T) {
	t.Parallel()
	endpoint := mototest.StartT(t)
	ctx := t.Context()
	client := testserver.Client(endpoint)
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

// A qscale server reports the oldest message's age through its extension
// attribute, read with the real SDK on a fake clock.
func TestObserveOldestAgeFromQscale(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := testserver.StartConfig(t, server.Config{Clock: clk})
	ctx := t.Context()
	client := testserver.Client(srv.URL())
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("aged")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := sqssource.FromConfig(ctx, autoscale.QueueConfig{URL: *q.QueueUrl, Endpoint: srv.URL(), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := src.Observe(ctx); err != nil || st.OldestAge != 0 || !src.ReadsOldestAge() {
		t.Fatalf("empty queue: %+v, %v, reads age %t", st, err, src.ReadsOldestAge())
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("old")}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(42*time.Second + 250*time.Millisecond)
	st, err := src.Observe(ctx)
	if err != nil || st.OldestAge != 42*time.Second+250*time.Millisecond || st.Visible != 1 {
		t.Fatalf("after 42.25 s: %+v, %v", st, err)
	}
	// The attribute is qscale's: not in "All", which stays AWS's list.
	all, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all.Attributes[sqssource.AgeAttribute]; ok {
		t.Fatalf("All lists %s", sqssource.AgeAttribute)
	}
}

// An endpoint that is not a qscale server (moto here) is asked for the age
// once; afterwards the source knows it cannot tell it, and still reads the
// counts.
func TestObserveOldestAgeElsewhere(t *testing.T) {
	t.Parallel()
	endpoint := mototest.StartT(t)
	ctx := t.Context()
	client := testserver.Client(endpoint)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("noage")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	src, err := sqssource.FromConfig(ctx, autoscale.QueueConfig{URL: *q.QueueUrl, Endpoint: endpoint, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		st, err := src.Observe(ctx)
		if err != nil || st.Visible != 1 || st.OldestAge != 0 {
			t.Fatalf("moto: %+v, %v", st, err)
		}
		if src.ReadsOldestAge() {
			t.Fatal("moto does not serve qscale's age attribute, yet the source says it reads it")
		}
	}
	// A policy that needs the age makes every reading fail, naming it,
	// rather than run on an age of 0.
	src.NeedOldestAge(errors.New("policy stale alarms on ApproximateAgeOfOldestMessage"))
	if _, err := src.Observe(ctx); err == nil || !strings.Contains(err.Error(), "policy stale") {
		t.Fatalf("a needed age the endpoint does not report: %v", err)
	}
}

// Amazon SQS is never asked for qscale's attribute.
func TestAmazonSQSReadsNoAge(t *testing.T) {
	t.Parallel()
	src, err := sqssource.FromConfig(t.Context(), autoscale.QueueConfig{URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"})
	if err != nil {
		t.Fatal(err)
	}
	if src.ReadsOldestAge() {
		t.Fatal("Amazon SQS: ReadsOldestAge")
	}
}
