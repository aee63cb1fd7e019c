// Package awsconf loads the AWS configuration of qscale's adapters to AWS
// APIs other than SQS (the ECS and EC2 Auto Scaling fleets, CloudWatch
// publishing) by the rules package sqsconn owns for every AWS client.
package awsconf

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/qscale/qscale/sqsconn"
)

// Load returns the configuration for region (may be empty) and endpoint
// (empty: AWS's own), with retryer as the SDK's retryer: see
// sqsconn.AWSConfig.
func Load(ctx context.Context, region, endpoint string, retryer func() aws.Retryer) (aws.Config, error) {
	return sqsconn.AWSConfig(ctx, region, endpoint, retryer)
}
