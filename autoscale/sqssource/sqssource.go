// Package sqssource reads a queue's backlog through the SQS API
// (GetQueueAttributes) from any endpoint: qscale's embedded server, Amazon
// SQS, or another emulator. It is the autoscaler's adapter to
// aws-sdk-go-v2; the autoscaler core imports no SDK.
package sqssource

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/sdkbody"
)

// API is the one SQS call the source makes; *sqs.Client implements it.
type API interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Source observes one queue.
type Source struct {
	api API
	url string
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

// FromConfig builds a Source from the autoscaler's queue configuration with
// the SDK's default credential chain. For an endpoint that is not an AWS one
// (the embedded server, an emulator), the endpoint defaults to the queue
// URL's scheme and host, and fixed placeholder credentials are used when the
// chain finds none.
func FromConfig(ctx context.Context, q autoscale.QueueConfig) (*Source, error) {
	u, err := url.Parse(q.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sqssource: queue url %q is not an absolute URL", q.URL)
	}
	endpoint := q.Endpoint
	local := !strings.HasSuffix(u.Hostname(), ".amazonaws.com") && !strings.HasSuffix(u.Hostname(), ".amazonaws.com.cn")
	if endpoint == "" && local {
		endpoint = u.Scheme + "://" + u.Host
	}
	region := q.Region
	if region == "" {
		region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if local {
		// No instance metadata service stands behind a local endpoint.
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqssource: AWS configuration: %w", err)
	}
	if local {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			cfg.Credentials = credentials.NewStaticCredentialsProvider("qscale", "qscale", "")
		}
	}
	cfg.HTTPClient = sdkbody.InMemory(cfg.HTTPClient) // see package sdkbody
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(client, q.URL), nil
}
