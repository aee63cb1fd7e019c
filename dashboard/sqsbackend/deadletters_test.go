package sqsbackend_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/autoscale/failwatch"
	"github.com/qscale/qscale/dashboard/sqsbackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testserver"
)

// The dead-letter reader finds the queue's dead-letter queue from its
// RedrivePolicy on a real qscale server, reads its depth at Start and
// again at each interval of the injected clock, and reads none without a
// redrive policy.
func TestDeadLettersOverSQS(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	api := testserver.Client(testserver.Start(t))
	dlq, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + attrs.Attributes["QueueArn"] + `","maxReceiveCount":"2"}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		for range n {
			if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: dlq.QueueUrl, MessageBody: aws.String("x")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(2)
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	d := sqsbackend.NewDeadLetters(api, *q.QueueUrl, 5*time.Second, clk, nil)
	waiting := clk.TimerCreated()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(t.Context()) })
	if got := d.DeadLetters(); got != (failwatch.DeadLetterReading{Queue: "jobs-dlq", Messages: 2}) {
		t.Fatalf("after Start: %+v", got)
	}
	send(3)
	<-waiting
	waiting = clk.TimerCreated()
	clk.Advance(5 * time.Second)
	<-waiting // the next wait begins once the read is done
	if got := d.DeadLetters(); got != (failwatch.DeadLetterReading{Queue: "jobs-dlq", Messages: 5}) {
		t.Fatalf("after an interval: %+v", got)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	none := sqsbackend.NewDeadLetters(api, *plain.QueueUrl, 0, nil, nil)
	if err := none.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := none.DeadLetters(); got != (failwatch.DeadLetterReading{}) {
		t.Fatalf("without a redrive policy: %+v", got)
	}
	gone := sqsbackend.NewDeadLetters(api, *q.QueueUrl+"-missing", 0, nil, nil)
	if err := gone.Refresh(ctx); err == nil {
		t.Fatal("a missing queue read without error")
	}
}
