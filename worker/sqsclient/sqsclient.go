// Package sqsclient is the worker runtime's adapter to SQS: a worker.Queue
// over aws-sdk-go-v2 for any SQS endpoint (qscale's own server, Amazon SQS,
// or another implementation), connected by package sqsconn.
package sqsclient

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/sqsconn"
	"github.com/qscale/qscale/worker"
)

// API is the part of *sqs.Client the adapter uses.
type API interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Client is a worker.Queue for one SQS queue.
type Client struct {
	api      API
	queueURL string
	endpoint sqsconn.Endpoint
}

var _ worker.Queue = (*Client)(nil)

// New returns a Client for queueURL that calls api.
func New(api API, queueURL string) *Client {
	return &Client{api: api, queueURL: queueURL}
}

// Options locate a queue and the credentials to reach it (package sqsconn
// has the rules). A queue URL alone is enough: a local server's URL names
// its endpoint, an Amazon SQS URL its region.
type Options = sqsconn.Options

// Dial returns a Client for opts.QueueURL and the SDK client it uses,
// built by package sqsconn.
func Dial(ctx context.Context, opts Options) (*Client, *sqs.Client, error) {
	if opts.QueueURL == "" {
		return nil, nil, errors.New("sqsclient: no queue URL")
	}
	api, ep, err := sqsconn.New(ctx, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("sqsclient: %w", err)
	}
	c := New(api, opts.QueueURL)
	c.endpoint = ep
	return c, api, nil
}

// Endpoint is where Dial's client sends its calls, and why (zero for a
// Client made with New).
func (c *Client) Endpoint() sqsconn.Endpoint { return c.endpoint }

// Check asks for the queue's attributes, so a wrong URL or missing
// permission fails at start and not on every receive.
func (c *Client) Check(ctx context.Context) (map[string]string, error) {
	out, err := c.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &c.queueURL,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", c.queueURL, err)
	}
	return out.Attributes, nil
}

// Receive implements worker.Queue.
func (c *Client) Receive(ctx context.Context, req worker.ReceiveRequest) ([]*worker.Message, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    &c.queueURL,
		MaxNumberOfMessages:         int32(req.Max),
		WaitTimeSeconds:             int32(req.Wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	}
	if req.Visibility > 0 {
		in.VisibilityTimeout = int32((req.Visibility + time.Second - 1) / time.Second)
	}
	out, err := c.api.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, err
	}
	msgs := make([]*worker.Message, len(out.Messages))
	for i, m := range out.Messages {
		wm := &worker.Message{
			ID:            aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Attributes:    m.Attributes,
		}
		wm.ReceiveCount, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		if len(m.MessageAttributes) > 0 {
			wm.MessageAttributes = make(map[string]worker.Attribute, len(m.MessageAttributes))
			for k, a := range m.MessageAttributes {
				wm.MessageAttributes[k] = worker.Attribute{
					DataType:    aws.ToString(a.DataType),
					StringValue: aws.ToString(a.StringValue),
					BinaryValue: a.BinaryValue,
				}
			}
		}
		msgs[i] = wm
	}
	return msgs, nil
}

var ids = [...]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// DeleteBatch implements worker.Queue.
func (c *Client) DeleteBatch(ctx context.Context, handles []string) error {
	if len(handles) == 0 {
		return nil
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(handles))
	for i := range handles {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: &ids[i], ReceiptHandle: &handles[i]}
	}
	out, err := c.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &c.queueURL, Entries: entries})
	if err != nil {
		return err
	}
	return batchError(out.Failed, handles)
}

// ChangeVisibilityBatch implements worker.Queue.
func (c *Client) ChangeVisibilityBatch(ctx context.Context, changes []worker.VisibilityChange) error {
	if len(changes) == 0 {
		return nil
	}
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(changes))
	handles := make([]string, len(changes))
	for i, ch := range changes {
		handles[i] = ch.ReceiptHandle
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
			Id:                &ids[i],
			ReceiptHandle:     &handles[i],
			VisibilityTimeout: int32((ch.Timeout + time.Second - 1) / time.Second),
		}
	}
	out, err := c.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &c.queueURL, Entries: entries})
	if err != nil {
		return err
	}
	return batchError(out.Failed, handles)
}

func batchError(failed []types.BatchResultErrorEntry, handles []string) error {
	if len(failed) == 0 {
		return nil
	}
	be := &worker.BatchError{Failed: make(map[string]error, len(failed))}
	for _, f := range failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(handles) {
			continue
		}
		be.Failed[handles[i]] = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
	}
	return be
}
