// Package bench measures an SQS endpoint (qscale's server, Amazon SQS or
// any emulator): throughput of send, receive and delete, end-to-end
// latency, and long-poll wake-up latency. A run drives an API: the raw
// AWS JSON 1.0 client (NewRawClient, light enough that the load generator
// does not starve a server on the same machine) or the real aws-sdk-go-v2
// client (NewClient, SDK).
package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/awsconf"
	"github.com/qscale/qscale/internal/sdkbody"
)

// ClientOptions chooses the endpoint and how many connections to keep.
type ClientOptions struct {
	// Endpoint is the SQS endpoint URL, e.g. http://127.0.0.1:9324. Empty:
	// the SDK's own resolution (AWS_ENDPOINT_URL_SQS, or Amazon SQS).
	Endpoint string
	// Region overrides AWS_REGION; default us-east-1 when none is set.
	Region string
	// Conns is how many connections the client keeps open to the endpoint;
	// at least the number of concurrent callers.
	Conns int
	// LogRetries makes the SDK log every retried call (to stderr).
	LogRetries bool
	// Credentials, when set, signs every request with these instead of
	// the ones the environment and the shared AWS files configure.
	Credentials aws.CredentialsProvider
	// Dial, when set, opens the client's connections (default: a
	// net.Dialer with TCP keep-alives).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// NewClient returns an SQS client for opts. Credentials and region come
// from the environment and the shared AWS files; when there are none and
// the endpoint is a loopback address, requests go unsigned (a local server
// without access keys checks no signatures, and SigV4 signing costs the
// load generator a sixth of its CPU). The SDK's MD5 checks are off: each
// body carries its sequence number and the run checks it.
func NewClient(ctx context.Context, opts ClientOptions) (*sqs.Client, error) {
	conns := max(opts.Conns, 16)
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns
		t.MaxIdleConnsPerHost = conns
		t.IdleConnTimeout = 90 * time.Second
		if opts.Dial != nil {
			t.DialContext = opts.Dial
		}
	}).WithTimeout(0)
	loads := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			// A load generator must not lock itself out with the
			// client-side retry quota when a server sheds load.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.RateLimiter = ratelimit.None
				o.MaxAttempts = 5
			})
		}),
	}
	if opts.Region != "" {
		loads = append(loads, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if opts.LogRetries {
		cfg.ClientLogMode |= aws.LogRetries
	}
	cfg.HTTPClient = sdkbody.InMemory(cfg.HTTPClient)
	switch {
	case opts.Credentials != nil:
		cfg.Credentials = opts.Credentials
	case awsconf.IsLoopback(opts.Endpoint) && awsconf.NoCredentialsConfigured():
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		// Every body carries its sequence number, which the run checks;
		// the SDK's MD5 checks of each body and answer are the e2e tests'
		// business, not a load generator's.
		o.DisableMessageChecksumValidation = true
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	}), nil
}
