package cwpublish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/qscale/qscale/sqsconn"
)

// Wire protocols CloudWatch accepts. The SDK speaks CBOR by default;
// emulators that predate it (moto 5.2) speak query, and AWS accepts all
// three.
const (
	ProtocolCBOR  = "cbor"
	ProtocolJSON  = "json"
	ProtocolQuery = "query"
)

// Settings build a Publisher that talks to CloudWatch; docs/aws.md
// documents them.
type Settings struct {
	Config
	// Region; default: the AWS configuration chain's, else us-east-1.
	Region string
	// Endpoint overrides the CloudWatch endpoint (an emulator, a VPC
	// endpoint).
	Endpoint string
	// Protocol: "cbor" (default, the SDK's), "json" or "query".
	Protocol string
}

// FromSettings builds a Publisher with the SDK's default credential chain.
// Calls are retried by the SDK's standard retryer (throttling, server and
// connection errors) up to 3 attempts; a period that still fails is merged
// into the next.
func FromSettings(ctx context.Context, s Settings) (*Publisher, error) {
	cfg, err := sqsconn.AWSConfig(ctx, s.Region, s.Endpoint, func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 5 * time.Second })
	})
	if err != nil {
		return nil, fmt.Errorf("cwpublish: %w", err)
	}
	client, err := sqsconn.CloudWatch(cfg, s.Endpoint, s.Protocol)
	if err != nil {
		return nil, fmt.Errorf("cwpublish: %w", err)
	}
	return New(client, s.Config)
}

// MetricFromSpec sets the namespace, metric name, dimensions and unit from
// a target tracking policy's CustomizedMetricSpecification (as
// policy.TargetTrackingConfig keeps it), so qscale publishes exactly the
// metric an AWS policy with the same config.json tracks. Other fields of c
// are kept. Metric math specifications (Metrics) are refused: there is no
// single metric to publish.
func MetricFromSpec(c Config, spec map[string]any) (Config, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return c, fmt.Errorf("cwpublish: CustomizedMetricSpecification: %w", err)
	}
	var s struct {
		MetricName, Namespace, Statistic, Unit string
		Dimensions                             []Dimension
		Metrics                                json.RawMessage
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return c, fmt.Errorf("cwpublish: CustomizedMetricSpecification: %w", err)
	}
	if len(s.Metrics) > 0 && string(s.Metrics) != "null" {
		return c, errors.New("cwpublish: CustomizedMetricSpecification uses metric math (Metrics); name one metric (MetricName, Namespace) to publish it")
	}
	if s.MetricName == "" || s.Namespace == "" {
		return c, errors.New("cwpublish: CustomizedMetricSpecification needs MetricName and Namespace")
	}
	c.MetricName, c.Namespace = s.MetricName, s.Namespace
	c.Dimensions = s.Dimensions
	if c.Dimensions == nil {
		c.Dimensions = []Dimension{}
	}
	if s.Unit != "" {
		c.Unit = s.Unit
	}
	return c, nil
}
