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
	"net"
	"net/url"
	"os"
	"path/filepath"
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

// IsLoopback reports whether endpoint (a URL) names this machine: localhost
// or a loopback address.
func IsLoopback(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// NoCredentialsConfigured reports whether the standard chain has nothing
// to find: no credentials or profile in the environment, no web identity or
// container credentials, no shared credentials file. Clients of a local
// endpoint then sign with a placeholder key (or not at all).
func NoCredentialsConfigured() bool {
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
