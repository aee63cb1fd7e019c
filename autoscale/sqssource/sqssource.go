// Package sqssource reads a queue's backlog through the SQS API
// (GetQueueAttributes) from any endpoint: qscale's embedded server, Amazon
// SQS, or another emulator. It is the autoscaler's adapter to
// aws-sdk-go-v2; the autoscaler core imports no SDK.
package sqssource

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/sqsconn"
)

// API is the one SQS call the source makes; *sqs.Client implements it.
type API interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Source observes one queue.
type Source struct {
	api      API
	url      string
	endpoint sqsconn.Endpoint
}

var _ autoscale.QueueSource = (*Source)(nil)

// New returns a Source for the queue at queueURL.
func New(api API, queueURL string) *Source { return &Source{api: api, url: queueURL} }

var attributes = []types.QueueAttributeName{
	types.QueueAttributeNameApproximateNumberOfMessages,
	types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
}

// Observe implements autoscale.QueueSource with one GetQueueAttributes call.
// SQS reports neither rates, processing time nor the oldest message's age
// through this call; those stay 0.
func (s *Source) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	out, err := s.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.url), AttributeNames: attributes})
	if err != nil {
		return autoscale.QueueStats{}, fmt.Errorf("sqssource: GetQueueAttributes %s: %w", s.url, err)
	}
	var st autoscale.QueueStats
	for _, f := range []struct {
		name types.QueueAttributeName
		dst  *int
	}{
		{types.QueueAttributeNameApproximateNumberOfMessages, &st.Visible},
		{types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, &st.InFlight},
		{types.QueueAttributeNameApproximateNumberOfMessagesDelayed, &st.Delayed},
	} {
		v, ok := out.Attributes[string(f.name)]
		if !ok {
			continue // an endpoint that omits one reports 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return autoscale.QueueStats{}, fmt.Errorf("sqssource: %s of %s is %q, not a count", f.name, s.url, v)
		}
		*f.dst = n
	}
	return st, nil
}

// FromConfig builds a Source from the autoscaler's queue configuration,
// connected by package sqsconn: the same endpoint, region and credentials
// as a worker given the same queue URL.
func FromConfig(ctx context.Context, q autoscale.QueueConfig) (*Source, error) {
	client, ep, err := sqsconn.New(ctx, sqsconn.Options{QueueURL: q.URL, Endpoint: q.Endpoint, Region: q.Region})
	if err != nil {
		return nil, fmt.Errorf("sqssource: %w", err)
	}
	s := New(client, q.URL)
	s.endpoint = ep
	return s, nil
}

// Endpoint is where FromConfig's source sends its calls, and why (zero for
// a Source made with New).
func (s *Source) Endpoint() sqsconn.Endpoint { return s.endpoint }
