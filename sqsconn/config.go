package sqsconn

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// PlaceholderSource is the Source of the credentials a client of a
// non-AWS endpoint signs with when the standard chain finds none.
const PlaceholderSource = "qscale placeholder"

// configRequest is what loadConfig needs to know.
type configRequest struct {
	region  string // "" : the configured one, else DefaultRegion
	profile string
	// local: the endpoint is not an AWS host, so no instance metadata
	// service stands behind it and placeholder credentials will do.
	local   bool
	retryer func() aws.Retryer
	http    aws.HTTPClient // nil: the SDK's
}

// loadConfig is the one place that loads an AWS configuration: the
// standard chain, the region rule and the placeholder credentials.
func loadConfig(ctx context.Context, r configRequest) (aws.Config, error) {
	var loads []func(*config.LoadOptions) error
	if r.retryer != nil {
		loads = append(loads, config.WithRetryer(r.retryer))
	}
	if r.http != nil {
		loads = append(loads, config.WithHTTPClient(r.http))
	}
	if r.region != "" {
		loads = append(loads, config.WithRegion(r.region))
	}
	if r.profile != "" {
		loads = append(loads, config.WithSharedConfigProfile(r.profile))
	}
	if r.local {
		loads = append(loads, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if r.local {
		cfg.Credentials = aws.NewCredentialsCache(orPlaceholder{cfg.Credentials})
	}
	return cfg, nil
}

// orPlaceholder answers the chain's credentials, or the placeholder key
// when the chain has none. It is asked on first use, not when the client is
// built.
type orPlaceholder struct{ chain aws.CredentialsProvider }

func (p orPlaceholder) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if p.chain != nil {
		if c, err := p.chain.Retrieve(ctx); err == nil {
			return c, nil
		}
	}
	return aws.Credentials{AccessKeyID: "qscale", SecretAccessKey: "qscale", Source: PlaceholderSource}, nil
}

// AWSConfig loads the configuration of a client of any AWS API (ECS, EC2
// Auto Scaling, CloudWatch) by the rules SQS clients follow: the region
// given, else the one endpoint's AWS host names, else the configured one,
// else us-east-1; for an endpoint that is not an AWS host (moto, another
// emulator), no instance-metadata lookup and placeholder credentials when
// the chain finds none. endpoint may be empty (AWS's own); retryer becomes
// the SDK's retryer.
func AWSConfig(ctx context.Context, region, endpoint string, retryer func() aws.Retryer) (aws.Config, error) {
	local := false
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return aws.Config{}, fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
		}
		local = !IsAWSHost(u.Hostname())
		if region == "" {
			region = RegionFromHost(u.Hostname())
		}
	}
	return loadConfig(ctx, configRequest{region: region, local: local, retryer: retryer})
}
