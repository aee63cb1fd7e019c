// Package awsconf loads the AWS configuration the way every qscale adapter
// to an AWS API wants it (the ECS and EC2 Auto Scaling fleets, CloudWatch
// publishing): the standard chain, region us-east-1 unless one is set, and
// for an endpoint that is not an AWS one (moto, another emulator) no
// instance-metadata lookup and placeholder credentials when the chain finds
// none.
package awsconf

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Load returns the configuration for region (may be empty) and endpoint
// (empty: AWS's own), with retryer as the SDK's retryer.
func Load(ctx context.Context, region, endpoint string, retryer func() aws.Retryer) (aws.Config, error) {
	local := false
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return aws.Config{}, fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
		}
		h := u.Hostname()
		local = !strings.HasSuffix(h, ".amazonaws.com") && !strings.HasSuffix(h, ".amazonaws.com.cn")
	}
	opts := []func(*config.LoadOptions) error{config.WithRetryer(retryer)}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if local {
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if local {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			cfg.Credentials = credentials.NewStaticCredentialsProvider("qscale", "qscale", "")
		}
	}
	return cfg, nil
}
