// Package sqssender sends the producer endpoint's messages to any SQS
// endpoint (Amazon SQS, qscale's server, another implementation) with
// aws-sdk-go-v2.
package sqssender

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/sqsconn"
)

// API is the part of *sqs.Client the sender uses.
type API interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Sender is a producer.Sender over an SQS API. Queue names are resolved
// with GetQueueUrl once and remembered; a queue given as a URL
// (http(s)://...) is used as it is.
type Sender struct {
	api API

	mu   sync.Mutex        // guards urls
	urls map[string]string // queue name -> URL
}

var _ producer.Sender = (*Sender)(nil)

// New returns a Sender that calls api.
func New(api API) *Sender { return &Sender{api: api, urls: map[string]string{}} }

// Dial returns a Sender over an SQS client that package sqsconn builds for
// opts (a queue URL, when there is one, in opts.QueueURL), and the endpoint
// it sends to.
func Dial(ctx context.Context, opts sqsconn.Options) (*Sender, sqsconn.Endpoint, error) {
	api, ep, err := sqsconn.New(ctx, opts)
	if err != nil {
		return nil, sqsconn.Endpoint{}, fmt.Errorf("sqssender: %w", err)
	}
	return New(api), ep, nil
}

// IsURL reports whether queue is a queue URL rather than a name.
func IsURL(queue string) bool {
	return strings.HasPrefix(queue, "http://") || strings.HasPrefix(queue, "https://")
}

// QueueURL returns the URL of queue, a name or a URL.
func (s *Sender) QueueURL(ctx context.Context, queue string) (string, error) {
	if IsURL(queue) {
		return queue, nil
	}
	s.mu.Lock()
	u, ok := s.urls[queue]
	s.mu.Unlock()
	if ok {
		return u, nil
	}
	out, err := s.api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		return "", callError(ctx, err)
	}
	u = aws.ToString(out.QueueUrl)
	s.mu.Lock()
	s.urls[queue] = u
	s.mu.Unlock()
	return u, nil
}

func (s *Sender) forget(queue string) {
	s.mu.Lock()
	delete(s.urls, queue)
	s.mu.Unlock()
}

// Send sends msgs to queue: SendMessage for one, SendMessageBatch for more.
func (s *Sender) Send(ctx context.Context, queue string, msgs []producer.Message) ([]producer.Result, error) {
	if len(msgs) == 0 || len(msgs) > producer.MaxBatch {
		return nil, &producer.Error{Status: 400, Code: producer.CodeTooManyEntries, Message: fmt.Sprintf("Send 1 to %d messages at a time, not %d.", producer.MaxBatch, len(msgs))}
	}
	url, err := s.QueueURL(ctx, queue)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 1 {
		m := msgs[0]
		out, err := s.api.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String(m.Body), MessageAttributes: attributes(m.Attributes),
			DelaySeconds: delay(m.DelaySeconds), MessageGroupId: optional(m.GroupID), MessageDeduplicationId: optional(m.DedupID),
		})
		if err != nil {
			e := callError(ctx, err)
			var pe *producer.Error
			if !errors.As(e, &pe) || pe.Code == producer.CodeNonExistentQueue || pe.Retryable() || pe.Status == 403 {
				if pe != nil && pe.Code == producer.CodeNonExistentQueue {
					s.forget(queue)
				}
				return nil, e
			}
			return []producer.Result{{Err: pe}}, nil
		}
		return []producer.Result{{MessageID: aws.ToString(out.MessageId), SequenceNumber: aws.ToString(out.SequenceNumber)}}, nil
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.Body), MessageAttributes: attributes(m.Attributes),
			DelaySeconds: delay(m.DelaySeconds), MessageGroupId: optional(m.GroupID), MessageDeduplicationId: optional(m.DedupID),
		}
	}
	out, err := s.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		e := callError(ctx, err)
		var pe *producer.Error
		if errors.As(e, &pe) && pe.Code == producer.CodeNonExistentQueue {
			s.forget(queue)
		}
		return nil, e
	}
	results := make([]producer.Result, len(msgs))
	answered := make([]bool, len(msgs))
	for _, ok := range out.Successful {
		i, err := strconv.Atoi(aws.ToString(ok.Id))
		if err != nil || i < 0 || i >= len(msgs) {
			continue
		}
		results[i] = producer.Result{MessageID: aws.ToString(ok.MessageId), SequenceNumber: aws.ToString(ok.SequenceNumber)}
		answered[i] = true
	}
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(msgs) {
			continue
		}
		results[i].Err = producer.NewError(aws.ToString(f.Code), aws.ToString(f.Message), !f.SenderFault)
		answered[i] = true
	}
	for i, ok := range answered {
		if !ok {
			results[i].Err = &producer.Error{Status: 502, Code: producer.CodeInternal, Message: "The SQS endpoint did not answer for this entry."}
		}
	}
	return results, nil
}

// callError turns an SDK error into a *producer.Error, or wraps the
// context's error when ctx ended.
func callError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("send cancelled: %w", ctx.Err())
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return producer.NewError(ae.ErrorCode(), ae.ErrorMessage(), ae.ErrorFault() == smithy.FaultServer)
	}
	msg := err.Error()
	var oe *net.OpError
	if errors.As(err, &oe) {
		msg = oe.Error()
	}
	return &producer.Error{Status: 502, Code: producer.CodeServiceUnavailable, Message: "The SQS endpoint could not be reached: " + msg}
}

func attributes(in map[string]producer.Attribute) map[string]types.MessageAttributeValue {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(in))
	for k, a := range in {
		v := types.MessageAttributeValue{DataType: aws.String(a.DataType), BinaryValue: a.BinaryValue}
		if a.StringValue != "" {
			v.StringValue = aws.String(a.StringValue)
		}
		out[k] = v
	}
	return out
}

func delay(d *int) int32 {
	if d == nil {
		return 0
	}
	return int32(*d)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
