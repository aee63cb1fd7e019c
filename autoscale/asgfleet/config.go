package asgfleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/sqsconn"
)

// Settings build a Fleet that talks to EC2 Auto Scaling: the typed form of
// a configuration file's `asg:` section (package config decodes and checks
// it; docs/aws.md documents it).
type Settings struct {
	GroupName string
	// Region; default: the AWS configuration chain's, else us-east-1.
	Region string
	// Endpoint overrides the EC2 Auto Scaling endpoint and, for the
	// private IP lookup, the EC2 one (an emulator serves both).
	Endpoint string
	// StatusPort is the port of the worker's status endpoint
	// (qscale worker --status-addr 0.0.0.0:PORT) on each instance's
	// private IP. 0 turns instance scale-in protection off.
	StatusPort int
	// Logger: see Options.Logger.
	Logger *slog.Logger
}

// MaxAttempts is how many times a call is attempted in all. The SDK's standard
// retryer retries throttling, server and connection errors with jittered
// exponential backoff (at most MaxRetryBackoff between attempts); qscale
// adds the group's own "try again" answers, ScalingActivityInProgress and
// ResourceContention. After that the error reaches the controller, which
// backs off on its own.
const (
	MaxAttempts     = 5
	MaxRetryBackoff = 5 * time.Second
)

// FromSettings builds a Fleet with the SDK's default credential chain (the
// instance profile, task role, environment or shared files).
func FromSettings(ctx context.Context, s Settings) (*Fleet, error) {
	if s.StatusPort < 0 || s.StatusPort > 65535 {
		return nil, fmt.Errorf("asgfleet: statusPort %d is not a port", s.StatusPort)
	}
	cfg, err := sqsconn.AWSConfig(ctx, s.Region, s.Endpoint, newRetryer)
	if err != nil {
		return nil, fmt.Errorf("asgfleet: %w", err)
	}
	client := autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
		}
	})
	o := Options{Group: s.GroupName, Logger: s.Logger}
	if s.StatusPort != 0 {
		o.Busy = &StatusReader{Port: s.StatusPort}
		o.IPs = &EC2{Config: cfg, Endpoint: s.Endpoint}
	}
	return New(client, o)
}

// newRetryer is the SDK's standard retryer with MaxAttempts attempts, a shorter
// backoff cap, and the group's busy answers as retryable.
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxRetryBackoff
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: map[string]struct{}{
			"ScalingActivityInProgress": {},
			"ResourceContention":        {},
		}})
	})
}

// isCode reports whether err is an API error with the given code.
func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
