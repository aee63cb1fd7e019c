package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/server"
)

// The dead-letter queue is listed after the queue that uses it, and named
// rather than given by ARN.
const queuesYAML = `
queues:
  - name: jobs
    attributes:
      VisibilityTimeout: "45"
      RedrivePolicy: '{"deadLetterTargetArn":"jobs-dlq","maxReceiveCount":3}'
    tags: {team: billing}
  - name: jobs-dlq
    attributes: {MessageRetentionPeriod: "1209600"}
  - name: events.fifo
    attributes: {FifoQueue: "true", ContentBasedDeduplication: "true"}
`

func loadQueues(t *testing.T, yaml string) []config.Queue {
	t.Helper()
	path := filepath.Join(t.TempDir(), "queues.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, err := config.LoadQueues(path)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func TestServerQueuesFileCreatesThenUpdates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	start := func(qs []config.Queue) (*server.Server, *sqs.Client) {
		s, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, Queues: qs})
		if err != nil {
			t.Fatal(err)
		}
		return s, newClient(s.URL())
	}
	s, c := start(loadQueues(t, queuesYAML))
	attrs := func(name string) map[string]string {
		t.Helper()
		u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatalf("queue %s: %v", name, err)
		}
		a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		return a.Attributes
	}
	jobs := attrs("jobs")
	dlq := attrs("jobs-dlq")
	if jobs["VisibilityTimeout"] != "45" || !strings.Contains(jobs["RedrivePolicy"], dlq["QueueArn"]) {
		t.Errorf("jobs: %v (dead-letter queue %s)", jobs, dlq["QueueArn"])
	}
	if dlq["MessageRetentionPeriod"] != "1209600" {
		t.Errorf("jobs-dlq: %v", dlq)
	}
	if f := attrs("events.fifo"); f["FifoQueue"] != "true" || f["ContentBasedDeduplication"] != "true" {
		t.Errorf("events.fifo: %v", f)
	}
	u, _ := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: u.QueueUrl})
	if err != nil || tags.Tags["team"] != "billing" {
		t.Errorf("tags: %v %v", err, tags)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// The next start with a changed file updates what it lists and keeps
	// the messages.
	s, c = start(loadQueues(t, strings.Replace(queuesYAML, `VisibilityTimeout: "45"`, `VisibilityTimeout: "90"`, 1)+"    tags: {tier: gold}\n"))
	defer s.Stop(ctx)
	if v := attrs("jobs")["VisibilityTimeout"]; v != "90" {
		t.Errorf("VisibilityTimeout after the update: %s, want 90", v)
	}
	if n := attrs("jobs")["ApproximateNumberOfMessages"]; n != "1" {
		t.Errorf("messages after the restart: %s, want 1", n)
	}
	fu, _ := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("events.fifo")})
	if tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: fu.QueueUrl}); err != nil || tags.Tags["tier"] != "gold" {
		t.Errorf("events.fifo tags after the update: %v %v", err, tags)
	}
}

func TestServerQueuesFileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"queues: [{name: a, attrs: {}}]", "queues[0].attrs: unknown field"},
		{"queues: [{name: a}, {name: a}]", `queues[1].name: "a" is listed twice`},
		{"queues: [{attributes: {}}]", "queues[0].name: is required"},
		{"queues: {name: a}", "queues: want a list"},
	} {
		path := filepath.Join(t.TempDir(), "q.yaml")
		os.WriteFile(path, []byte(tc.yaml), 0o644)
		if _, err := config.LoadQueues(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	for _, tc := range []struct{ yaml, want string }{
		{`queues: [{name: a, attributes: {RedrivePolicy: '{"deadLetterTargetArn":"b","maxReceiveCount":1}'}}, {name: b, attributes: {RedrivePolicy: '{"deadLetterTargetArn":"a","maxReceiveCount":1}'}}]`, "cycle: a -> b -> a"},
		{`queues: [{name: a, attributes: {RedrivePolicy: '{"deadLetterTargetArn":"nowhere","maxReceiveCount":1}'}}]`, `queues[0].attributes.RedrivePolicy: dead-letter queue "nowhere" does not exist`},
		{`queues: [{name: "bad name"}]`, "queues[0] (bad name): create"},
		{`queues: [{name: a, attributes: {VisibilityTimeout: "-1"}}]`, "VisibilityTimeout"},
	} {
		_, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", InMemory: true, Queues: loadQueues(t, tc.yaml)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
