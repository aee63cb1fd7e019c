// Package bench measures an SQS endpoint (qscale's server, Amazon SQS or
// any emulator): throughput of send, receive and delete, end-to-end
// latency, and long-poll wake-up latency. A run drives an API: the raw
// AWS JSON 1.0 client (NewRawClient, light enough that the load generator
// does not starve a server on the same machine) or the real aws-sdk-go-v2
// client that package sqsconn builds (SDK). Both reach the endpoint
// sqsconn resolves: the local qscale server unless told otherwise.
package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/sqsconn"
)

// API is the part of SQS a bench run calls. Two clients implement it: the
// raw JSON 1.0 client (NewRawClient) and aws-sdk-go-v2 (SDK).
type API interface {
	CreateQueue(ctx context.Context, name string, attributes map[string]string) (queueURL string, err error)
	DeleteQueue(ctx context.Context, queueURL string) error
	SendMessage(ctx context.Context, queueURL, body string) error
	// SendMessageBatch returns the entries the endpoint reported failed;
	// err is for the call as a whole.
	SendMessageBatch(ctx context.Context, queueURL string, entries []SendEntry) ([]Failure, error)
	ReceiveMessage(ctx context.Context, queueURL string, max int, waitSeconds int32) ([]Message, error)
	DeleteMessage(ctx context.Context, queueURL, receiptHandle string) error
	DeleteMessageBatch(ctx context.Context, queueURL string, entries []DeleteEntry) ([]Failure, error)
}

// SendEntry is one entry of a SendMessageBatch call.
type SendEntry struct{ ID, Body string }

// DeleteEntry is one entry of a DeleteMessageBatch call.
type DeleteEntry struct{ ID, ReceiptHandle string }

// Failure is a failed entry of a batch call.
type Failure struct {
	ID, Code, Message string
	SenderFault       bool
}

// Message is a received message.
type Message struct{ ID, ReceiptHandle, Body string }

// Clients are the names NewAPI accepts.
var Clients = []string{"raw", "sdk"}

// NewAPI returns the client named kind ("raw" or "sdk", the latter built
// by package sqsconn) for opts, and the endpoint it calls.
func NewAPI(ctx context.Context, kind string, opts sqsconn.Options) (API, sqsconn.Endpoint, error) {
	switch kind {
	case "raw":
		c, err := NewRawClient(ctx, opts)
		if err != nil {
			return nil, sqsconn.Endpoint{}, err
		}
		return c, c.Endpoint(), nil
	case "sdk":
		c, ep, err := sqsconn.New(ctx, opts)
		if err != nil {
			return nil, sqsconn.Endpoint{}, err
		}
		return SDK(c), ep, nil
	}
	return nil, sqsconn.Endpoint{}, fmt.Errorf("client must be one of %s, not %q", strings.Join(Clients, ", "), kind)
}

// SDK adapts an aws-sdk-go-v2 SQS client to API.
func SDK(c *sqs.Client) API { return sdkAPI{c} }

type sdkAPI struct{ c *sqs.Client }

func (s sdkAPI) CreateQueue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	out, err := s.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueueUrl), nil
}

func (s sdkAPI) DeleteQueue(ctx context.Context, queueURL string) error {
	_, err := s.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &queueURL})
	return err
}

func (s sdkAPI) SendMessage(ctx context.Context, queueURL, body string) error {
	_, err := s.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: &body})
	return err
}

func (s sdkAPI) SendMessageBatch(ctx context.Context, queueURL string, entries []SendEntry) ([]Failure, error) {
	in := make([]types.SendMessageBatchRequestEntry, len(entries))
	for i := range entries {
		in[i] = types.SendMessageBatchRequestEntry{Id: &entries[i].ID, MessageBody: &entries[i].Body}
	}
	out, err := s.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &queueURL, Entries: in})
	if err != nil {
		return nil, err
	}
	return sdkFailures(out.Failed), nil
}

func (s sdkAPI) ReceiveMessage(ctx context.Context, queueURL string, max int, wait int32) ([]Message, error) {
	out, err := s.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &queueURL, MaxNumberOfMessages: int32(max), WaitTimeSeconds: wait,
	})
	if err != nil {
		return nil, err
	}
	ms := make([]Message, len(out.Messages))
	for i, m := range out.Messages {
		ms[i] = Message{ID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body)}
	}
	return ms, nil
}

func (s sdkAPI) DeleteMessage(ctx context.Context, queueURL, handle string) error {
	_, err := s.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: &handle})
	return err
}

func (s sdkAPI) DeleteMessageBatch(ctx context.Context, queueURL string, entries []DeleteEntry) ([]Failure, error) {
	in := make([]types.DeleteMessageBatchRequestEntry, len(entries))
	for i := range entries {
		in[i] = types.DeleteMessageBatchRequestEntry{Id: &entries[i].ID, ReceiptHandle: &entries[i].ReceiptHandle}
	}
	out, err := s.c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &queueURL, Entries: in})
	if err != nil {
		return nil, err
	}
	return sdkFailures(out.Failed), nil
}

func sdkFailures(fs []types.BatchResultErrorEntry) []Failure {
	if len(fs) == 0 {
		return nil
	}
	out := make([]Failure, len(fs))
	for i, f := range fs {
		out[i] = Failure{ID: aws.ToString(f.Id), Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault}
	}
	return out
}
