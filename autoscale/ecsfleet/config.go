package ecsfleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/sqsconn"
)

// Settings build a Fleet that talks to ECS: the typed form of a
// configuration file's `ecs:` section (package config decodes and checks
// it; docs/aws.md documents it).
type Settings struct {
	Cluster string
	Service string
	// Region; default: the AWS configuration chain's, else us-east-1.
	Region string
	// Endpoint overrides the ECS endpoint (an emulator, a VPC endpoint).
	Endpoint string
	// StatusPort is the port of the worker's status endpoint
	// (qscale worker --status-addr 0.0.0.0:PORT) on each task's private
	// IP. 0 turns task scale-in protection off.
	StatusPort int
	// ProtectionExpiry: see Options.ProtectionExpiry.
	ProtectionExpiry time.Duration
	// Logger: see Options.Logger.
	Logger *slog.Logger
}

// MaxAttempts is how many times a call is attempted in all: throttling, server
// errors and connection errors are retried by the SDK's standard retryer
// with jittered exponential backoff (at most MaxRetryBackoff between
// attempts). After that the error reaches the controller, which backs off
// on its own.
const (
	MaxAttempts     = 5
	MaxRetryBackoff = 5 * time.Second
)

// FromSettings builds a Fleet with the SDK's default credential chain (the
// task role, instance profile, environment or shared files).
func FromSettings(ctx context.Context, s Settings) (*Fleet, error) {
	if s.StatusPort < 0 || s.StatusPort > 65535 {
		return nil, fmt.Errorf("ecsfleet: statusPort %d is not a port", s.StatusPort)
	}
	cfg, err := sqsconn.AWSConfig(ctx, s.Region, s.Endpoint, newRetryer)
	if err != nil {
		return nil, fmt.Errorf("ecsfleet: %w", err)
	}
	client := ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
		}
	})
	o := Options{Cluster: s.Cluster, Service: s.Service, ProtectionExpiry: s.ProtectionExpiry, Logger: s.Logger}
	if s.StatusPort != 0 {
		o.Busy = &StatusReader{Port: s.StatusPort}
	}
	return New(client, o)
}

// newRetryer is the SDK's standard retryer with MaxAttempts attempts and a
// shorter backoff cap: the controller calls every second and backs off
// itself, so one call should not hold a tick for long.
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxRetryBackoff
	})
}

// isCode reports whether err is an API error with the given code.
func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
