package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/qscale/qscale/internal/mototest"
	"github.com/qscale/qscale/internal/testserver"
)

// qscale autoscale with a cloudwatch section publishes backlog per worker
// to CloudWatch (moto's) while it scales, as seed 000's script did.
func TestAutoscalePublishesToCloudWatch(t *testing.T) {
	moto := mototest.StartT(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")

	endpoint := testserver.Start(t)
	api := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	q, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "autoscale.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
queue: {url: %q}
fleet: {kind: memory}
minCapacity: 0
maxCapacity: 5
interval: 200ms
policies:
  - targetTracking: {TargetValue: 10, ScaleOutCooldown: 0}
cloudwatch: {endpoint: %q, region: us-east-1, period: 1s, protocol: query}
`, *q.QueueUrl, moto)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runAutoscale(ctx, []string{"--config", cfg}) }()

	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *cloudwatch.Options) { o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) }) // moto speaks no CBOR
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := cw.ListMetrics(t.Context(), &cloudwatch.ListMetricsInput{Namespace: aws.String("SQS/BACKLOG")})
		if err == nil && len(out.Metrics) > 0 {
			if m := out.Metrics[0]; aws.ToString(m.MetricName) != "backlogpertask" || len(m.Dimensions) != 1 || aws.ToString(m.Dimensions[0].Value) != "jobs" {
				t.Fatalf("published %+v; want seed 000's backlogpertask with SQSName=jobs", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing published to CloudWatch within 30 s (last error %v)", err)
		}
		time.Sleep(100 * time.Millisecond) // moto's metrics are the only signal
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("qscale autoscale: %v", err)
	}
}
