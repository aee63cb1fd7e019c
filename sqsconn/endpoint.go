// Package sqsconn owns qscale's connections to SQS: it decides which
// endpoint, region and credentials a queue is reached with, and builds the
// aws-sdk-go-v2 client every part of qscale uses (the worker, the
// autoscaler's queue source, the producer endpoint, qscale send, load and
// bench). One set of rules, so that every part reaches the same endpoint for
// the same queue URL:
//
//  1. an endpoint given explicitly (a flag, a configuration file);
//  2. AWS_ENDPOINT_URL_SQS, then AWS_ENDPOINT_URL (unless
//     AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true);
//  3. the queue URL's host: Amazon SQS in the URL's region for an AWS host,
//     the URL's scheme and host for any other (qscale's server, moto);
//  4. otherwise the local qscale server, http://127.0.0.1:9324. Nothing
//     reaches Amazon SQS unless a queue URL, an endpoint or the environment
//     names it.
//
// The region is the one given, else the one an AWS host names
// (sqs.eu-west-1.amazonaws.com), else AWS_REGION / AWS_DEFAULT_REGION / the
// profile's, else us-east-1. Credentials follow the standard AWS chain; for
// an endpoint that is not an AWS host, the instance metadata service is not
// asked and, when the chain finds nothing, requests are signed with the
// placeholder key "qscale" (qscale's server checks signatures only when it
// has keys configured).
package sqsconn

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/queue"
)

// DefaultEndpoint is the local qscale server, where every command goes
// when nothing names another endpoint.
const DefaultEndpoint = "http://127.0.0.1:9324"

// DefaultRegion is the region when none is given or configured: qscale's
// one default (queue.DefaultRegion).
const DefaultRegion = queue.DefaultRegion

// Source says which rule chose an endpoint.
type Source string

// The rules, in the order they apply.
const (
	FromOption   Source = "set explicitly"
	FromEnvSQS   Source = "from AWS_ENDPOINT_URL_SQS"
	FromEnv      Source = "from AWS_ENDPOINT_URL"
	FromQueueURL Source = "from the queue URL"
	FromDefault  Source = "default: the local qscale server"
)

// Endpoint is where a client sends its SQS calls, and why.
type Endpoint struct {
	// URL is the endpoint, e.g. http://127.0.0.1:9324 or
	// https://sqs.eu-west-1.amazonaws.com.
	URL string
	// Region signs the requests.
	Region string
	// AWS reports whether URL is an Amazon host.
	AWS bool
	// Source is the rule that chose URL.
	Source Source

	// regional: the SDK resolves the endpoint from Region (and fips,
	// dualStack), as for a queue URL on an AWS host.
	regional        bool
	fips, dualStack bool
}

func (e Endpoint) String() string {
	where := e.URL
	if e.AWS {
		where = "Amazon SQS " + e.URL
	}
	return where + " (" + string(e.Source) + ")"
}

// Loopback reports whether the endpoint is on this machine.
func (e Endpoint) Loopback() bool { return IsLoopback(e.URL) }

// Resolve applies the rules (see the package documentation) to opts and the
// environment. It reads no files: a region that only a shared-config profile
// names is filled in by New and Config.
func Resolve(ctx context.Context, opts Options) (Endpoint, error) {
	return resolve(ctx, opts, os.Getenv)
}

// getenv reads one environment variable.
type getenv func(string) string

func resolve(ctx context.Context, opts Options, env getenv) (Endpoint, error) {
	var queueHost string
	var e Endpoint
	if opts.QueueURL != "" {
		u, err := url.Parse(opts.QueueURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return Endpoint{}, fmt.Errorf("queue URL %q: want http(s)://host/account/name", opts.QueueURL)
		}
		queueHost = u.Hostname()
		e = Endpoint{URL: u.Scheme + "://" + u.Host, Source: FromQueueURL}
	}
	if opts.Region != "" && !regionName.MatchString(opts.Region) {
		return Endpoint{}, fmt.Errorf("region %q: want a region name such as eu-west-1", opts.Region)
	}
	configured := !strings.EqualFold(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true")
	switch {
	case opts.Endpoint != "":
		e = Endpoint{URL: opts.Endpoint, Source: FromOption}
	case configured && env("AWS_ENDPOINT_URL_SQS") != "":
		e = Endpoint{URL: env("AWS_ENDPOINT_URL_SQS"), Source: FromEnvSQS}
	case configured && env("AWS_ENDPOINT_URL") != "":
		e = Endpoint{URL: env("AWS_ENDPOINT_URL"), Source: FromEnv}
	case opts.QueueURL != "":
		// e is the queue URL's scheme and host.
	default:
		e = Endpoint{URL: DefaultEndpoint, Source: FromDefault}
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Endpoint{}, fmt.Errorf("SQS endpoint %q (%s): want http(s)://host[:port]", e.URL, e.Source)
	}
	e.URL = strings.TrimRight(e.URL, "/")
	host := u.Hostname()
	e.AWS = IsAWSHost(host)
	e.Region = opts.Region
	if e.Region == "" {
		e.Region = RegionFromHost(host)
	}
	if e.Region == "" {
		e.Region = RegionFromHost(queueHost)
	}
	if e.Region == "" {
		e.Region = env("AWS_REGION")
	}
	if e.Region == "" {
		e.Region = env("AWS_DEFAULT_REGION")
	}
	if e.AWS && e.Source == FromQueueURL {
		// Amazon SQS in the queue's region, through the SDK's own
		// endpoint rules (partitions, FIPS, dual-stack).
		e.regional = true
		e.fips = strings.HasPrefix(host, "sqs-fips.") || strings.EqualFold(env("AWS_USE_FIPS_ENDPOINT"), "true")
		e.dualStack = isDualStackHost(host) || strings.EqualFold(env("AWS_USE_DUALSTACK_ENDPOINT"), "true")
		if e.Region != "" {
			if e.URL, err = regionalURL(ctx, e); err != nil {
				return Endpoint{}, err
			}
		}
	}
	return e, nil
}

// regionalURL is the SDK's endpoint for e's region and variants.
func regionalURL(ctx context.Context, e Endpoint) (string, error) {
	out, err := sqs.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sqs.EndpointParameters{
		Region: aws.String(e.Region), UseFIPS: aws.Bool(e.fips), UseDualStack: aws.Bool(e.dualStack),
	})
	if err != nil {
		return "", fmt.Errorf("Amazon SQS endpoint for region %q: %w", e.Region, err)
	}
	return strings.TrimRight(out.URI.String(), "/"), nil
}

// awsSuffixes are the DNS suffixes of every AWS partition, plain and
// dual-stack (aws-sdk-go-v2's partitions.json).
var awsSuffixes = []string{
	"amazonaws.com", "api.aws", // aws, aws-us-gov
	"amazonaws.com.cn", "api.amazonwebservices.com.cn", // aws-cn
	"amazonaws.eu", "api.amazonwebservices.eu", // aws-eusc
	"c2s.ic.gov", "api.aws.ic.gov", // aws-iso
	"sc2s.sgov.gov", "api.aws.scloud", // aws-iso-b
	"cloud.adc-e.uk", "api.cloud-aws.adc-e.uk", // aws-iso-e
	"csp.hci.ic.gov", "api.aws.hci.ic.gov", // aws-iso-f
}

// IsAWSHost reports whether host (a name, not a URL) belongs to AWS in any
// partition: sqs.us-east-1.amazonaws.com, sqs.cn-north-1.amazonaws.com.cn,
// sqs-fips.us-gov-west-1.amazonaws.com, sqs.eu-west-1.api.aws, ...
func IsAWSHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, s := range awsSuffixes {
		if strings.HasSuffix(host, "."+s) {
			return true
		}
	}
	return false
}

func isDualStackHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, s := range awsSuffixes {
		if strings.HasPrefix(s, "api.") && strings.HasSuffix(host, "."+s) {
			return true
		}
	}
	return false
}

var (
	// regionLabel is a host label that names a region.
	regionLabel = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// regionName is any region a user may give: emulators accept names
	// AWS does not have.
	regionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
)

// RegionFromHost returns the region an AWS host names, or "":
// sqs.<region>.<suffix>, sqs-fips.<region>.<suffix>, a VPC endpoint's
// vpce-....sqs.<region>.vpce.amazonaws.com, the legacy
// <region>.queue.amazonaws.com, queue.amazonaws.com (us-east-1), and the
// hosts of the other services (ecs.<region>.amazonaws.com).
func RegionFromHost(host string) string {
	if !IsAWSHost(host) {
		return ""
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "queue.amazonaws.com" {
		return "us-east-1"
	}
	for _, l := range strings.Split(host, ".") {
		if regionLabel.MatchString(l) {
			return l
		}
	}
	return ""
}

// IsLoopback reports whether endpoint (a URL) names this machine: localhost
// or a loopback address.
func IsLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Hostname(), "localhost") {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}
