// Package sqsclient connects the worker runtime to any SQS endpoint (qscale's
// own server, Amazon SQS, or another implementation) with aws-sdk-go-v2.
package sqsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/qscale/qscale/internal/awsconf"
	"github.com/qscale/qscale/internal/sdkbody"

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
}

var _ worker.Queue = (*Client)(nil)

// New returns a Client for queueURL that calls api.
func New(api API, queueURL string) *Client {
	return &Client{api: api, queueURL: queueURL}
}

// Options locates a queue and the credentials to reach it. Empty fields
// follow the standard AWS configuration (AWS_REGION, AWS_PROFILE,
// AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_SQS, shared config files, ...).
type Options struct {
	QueueURL string
	Region   string
	// Endpoint overrides the SQS endpoint. When it is empty, no endpoint is
	// configured in the environment, and QueueURL's host is not an AWS one,
	// the endpoint is QueueURL's scheme and host: a queue URL of a local
	// server is enough.
	Endpoint string
	Profile  string
	// MaxConns bounds idle connections kept to the endpoint (default 256).
	MaxConns int
}

// Dial loads the AWS configuration for opts and returns a Client and the
// SDK client it uses. Without credentials anywhere, a loopback endpoint is
// called with the placeholder key "qscale" (qscale's server verifies
// signatures only when keys are configured).
func Dial(ctx context.Context, opts Options) (*Client, *sqs.Client, error) {
	if opts.QueueURL == "" {
		return nil, nil, errors.New("sqsclient: no queue URL")
	}
	u, err := url.Parse(opts.QueueURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("sqsclient: queue URL %q: want http(s)://host/account/name", opts.QueueURL)
	}
	awsHost := strings.HasSuffix(u.Hostname(), ".amazonaws.com") || strings.HasSuffix(u.Hostname(), ".amazonaws.com.cn")
	endpoint := opts.Endpoint
	if endpoint == "" && os.Getenv("AWS_ENDPOINT_URL_SQS") == "" && os.Getenv("AWS_ENDPOINT_URL") == "" && !awsHost {
		endpoint = u.Scheme + "://" + u.Host
	}
	maxConns := opts.MaxConns
	if maxConns == 0 {
		maxConns = 256
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = maxConns
		t.MaxIdleConnsPerHost = maxConns
	})
	loads := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			// No client-side retry quota: a worker retries receives
			// forever by design and must not lock itself out.
			return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
		}),
	}
	if opts.Region != "" {
		loads = append(loads, config.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		loads = append(loads, config.WithSharedConfigProfile(opts.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, nil, fmt.Errorf("sqsclient: AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = regionFromHost(u.Hostname())
	}
	// A fast answer could otherwise cost the connection and, for a
	// ReceiveMessage, its messages until their visibility timeout.
	cfg.HTTPClient = sdkbody.InMemory(cfg.HTTPClient)
	ep := endpoint
	if ep == "" {
		ep = os.Getenv("AWS_ENDPOINT_URL_SQS")
	}
	if ep == "" {
		ep = os.Getenv("AWS_ENDPOINT_URL")
	}
	if awsconf.IsLoopback(ep) && opts.Profile == "" && awsconf.NoCredentialsConfigured() {
		cfg.Credentials = credentials.NewStaticCredentialsProvider("qscale", "qscale", "")
	}
	api := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(api, opts.QueueURL), api, nil
}

func regionFromHost(host string) string {
	// sqs.<region>.amazonaws.com or <region>.queue.amazonaws.com
	parts := strings.Split(host, ".")
	if len(parts) >= 4 && parts[0] == "sqs" {
		return parts[1]
	}
	if len(parts) >= 4 && parts[1] == "queue" {
		return parts[0]
	}
	return "us-east-1"
}

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
