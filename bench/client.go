// Package bench measures an SQS endpoint (qscale's server, Amazon SQS or
// any emulator) with the real aws-sdk-go-v2 client: throughput of send,
// receive and delete, end-to-end latency, and long-poll wake-up latency.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
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
	cfg.HTTPClient = InMemoryBodies(cfg.HTTPClient)
	if isLoopback(opts.Endpoint) && noCredentialsConfigured() {
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

func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || endpoint == "" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

func noCredentialsConfigured() bool {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if os.Getenv(v) != "" {
			return false
		}
	}
	file := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return true
		}
		file = filepath.Join(home, ".aws", "credentials")
	}
	_, err := os.Stat(file)
	return err != nil
}

// InMemoryBodies wraps an SDK HTTP client so that every request body it
// sends is a byte slice that only net/http owns.
//
// The SDK (smithy-go) hands net/http a request body that answers io.EOF as
// an error from WriteTo once the SDK has closed it, and it closes it as soon
// as the response headers arrive. net/http, after writing Content-Length
// bytes of a body, reads the body once more to check that it is empty. When
// a fast server answers in between (the last body bytes are on the wire, the
// writing goroutine has not yet made that check), the check fails with
// io.EOF and net/http closes the connection while the response is still
// being read: the client sees "use of closed network connection", the SDK
// retries, and the messages the lost ReceiveMessage answer carried stay in
// flight until their visibility timeout. A body that net/http recognises as
// in memory is also sent with its headers in one write instead of two.
func InMemoryBodies(c aws.HTTPClient) aws.HTTPClient {
	return inMemoryBodies{c}
}

type inMemoryBodies struct{ c aws.HTTPClient }

func (c inMemoryBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req.ContentLength = int64(len(b))
		if len(b) == 0 {
			req.Body, req.GetBody = http.NoBody, nil
			return c.c.Do(req)
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return c.c.Do(req)
}
