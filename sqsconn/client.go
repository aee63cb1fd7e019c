package sqsconn

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Options locate a queue and say how to reach it. Every field may be
// empty; the rules in the package documentation fill them.
type Options struct {
	// QueueURL is the queue the client is for, if one is known; a queue
	// URL alone is enough to reach it.
	QueueURL string
	// Endpoint overrides every other rule.
	Endpoint string
	// Region overrides the region the hosts and the environment name.
	Region string
	// Profile is the shared-config profile (default AWS_PROFILE).
	Profile string
	// MaxConns bounds the idle connections kept to the endpoint (default
	// 256); at least the number of concurrent callers.
	MaxConns int
	// MaxAttempts bounds the attempts of one call (default 3, the SDK's);
	// MaxBackoff the wait between two (default 20 s, the SDK's).
	MaxAttempts int
	MaxBackoff  time.Duration
	// LogRetries makes the SDK log every retried call (to stderr).
	LogRetries bool
	// Credentials, when set, sign every request instead of the ones the
	// environment and the shared AWS files configure.
	Credentials aws.CredentialsProvider
	// Dial, when set, opens the client's connections.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultMaxConns is the idle connections a client keeps by default.
const DefaultMaxConns = 256

// New resolves opts and returns an SQS client for the endpoint, and the
// endpoint. The client retries throttled and failed calls without a
// client-side retry quota (a worker that polls forever, or a load
// generator facing a server that sheds load, must not lock itself out),
// checks the MD5 of every message it sends and receives, and sends request
// bodies from memory (see inMemoryBodies).
func New(ctx context.Context, opts Options) (*sqs.Client, Endpoint, error) {
	cfg, ep, err := Config(ctx, opts)
	if err != nil {
		return nil, Endpoint{}, err
	}
	return sqs.NewFromConfig(cfg, ep.apply), ep, nil
}

// Config returns the SDK configuration New builds its client from (region,
// credentials, HTTP client, retryer) and the endpoint, for a client of
// another make that signs with the same credentials.
func Config(ctx context.Context, opts Options) (aws.Config, Endpoint, error) {
	ep, err := Resolve(ctx, opts)
	if err != nil {
		return aws.Config{}, Endpoint{}, err
	}
	conns := opts.MaxConns
	if conns <= 0 {
		conns = DefaultMaxConns
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns
		t.MaxIdleConnsPerHost = conns
		if opts.Dial != nil {
			t.DialContext = opts.Dial
		}
	})
	cfg, err := loadConfig(ctx, configRequest{
		region: ep.Region, profile: opts.Profile, local: !ep.AWS,
		http: httpClient,
		retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.RateLimiter = ratelimit.None
				if opts.MaxAttempts > 0 {
					o.MaxAttempts = opts.MaxAttempts
				}
				if opts.MaxBackoff > 0 {
					o.MaxBackoff = opts.MaxBackoff
				}
			})
		},
	})
	if err != nil {
		return aws.Config{}, Endpoint{}, err
	}
	// The SDK may have rebuilt the client (a CA bundle): wrap what it kept.
	cfg.HTTPClient = inMemoryBodies{cfg.HTTPClient}
	if opts.LogRetries {
		cfg.ClientLogMode |= aws.LogRetries
	}
	if opts.Credentials != nil {
		cfg.Credentials = opts.Credentials
	}
	if ep.Region == "" {
		// Only a profile named it, or nothing did.
		ep.Region = cfg.Region
		if ep.regional {
			if ep.URL, err = regionalURL(ctx, ep); err != nil {
				return aws.Config{}, Endpoint{}, err
			}
		}
	}
	return cfg, ep, nil
}

// apply points an SDK client at e.
func (e Endpoint) apply(o *sqs.Options) {
	if !e.regional {
		o.BaseEndpoint = aws.String(e.URL)
		return
	}
	o.BaseEndpoint = nil
	if e.fips {
		o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
	}
	if e.dualStack {
		o.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
	}
}
