package server_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/peekapi"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/server"
)

// The admin listener's message browser shows a durable server's messages
// behind the admin token, and an SDK client then receives them as if
// nobody had looked: first receive, count 1.
func TestServerAdminPeek(t *testing.T) {
	t.Parallel()
	s := startOps(t, server.Config{AdminToken: "s3cret"})
	api := newClient(s.URL())
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String("job " + strconv.Itoa(i)),
			MessageAttributes: map[string]types.MessageAttributeValue{"tenant": {DataType: aws.String("String"), StringValue: aws.String("acme")}}}); err != nil {
			t.Fatal(err)
		}
	}

	var pe *peekapi.Error
	anon := &peekapi.Client{BaseURL: s.AdminURL()}
	if _, err := anon.Peek(t.Context(), "jobs", queue.PeekOptions{}); !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
		t.Fatalf("without the token: %v, want 401", err)
	}
	c := &peekapi.Client{BaseURL: s.AdminURL(), Token: "s3cret"}
	for range 2 {
		page, err := c.Peek(t.Context(), "jobs", queue.PeekOptions{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) != 2 || page.Next == 0 || page.Visible != 3 {
			t.Fatalf("page: %+v", page)
		}
		m, err := c.PeekMessage(t.Context(), "jobs", page.Messages[1].ID)
		if err != nil || m.Body != "job 1" || m.Attributes["tenant"].StringValue != "acme" || m.ReceiveCount != 0 {
			t.Fatalf("peek: %+v %v", m, err)
		}
	}
	if _, err := c.Peek(t.Context(), "nope", queue.PeekOptions{}); !errors.As(err, &pe) || pe.Code != string(queue.ErrQueueDoesNotExist) {
		t.Fatalf("unknown queue: %v", err)
	}

	got, err := api.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 3 {
		t.Fatalf("received %d of 3 after peeking", len(got.Messages))
	}
	for _, m := range got.Messages {
		if n := m.Attributes["ApproximateReceiveCount"]; n != "1" {
			t.Errorf("%s: ApproximateReceiveCount %s after peeking, want 1", aws.ToString(m.Body), n)
		}
	}
}
