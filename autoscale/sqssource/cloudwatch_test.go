package sqssource_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/mototest"
	"github.com/qscale/qscale/internal/testserver"
)

// On an endpoint without qscale's age attribute (moto's SQS, as Amazon
// SQS), a source told to read the age from CloudWatch reports AWS/SQS
// ApproximateAgeOfOldestMessage's latest datapoint (seeded into moto's
// CloudWatch with PutMetricData), asks again once a period has passed, and
// keeps the last age in between.
func TestOldestAgeFromCloudWatchAgainstMoto(t *testing.T) {
	t.Parallel()
	endpoint := mototest.StartT(t)
	ctx := t.Context()
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	client := testserver.Client(endpoint)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("aged")})
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds},
		func(o *cloudwatch.Options) { o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) })
	start := time.Now().UTC().Truncate(time.Minute)
	put := func(at time.Time, seconds float64, queue string) {
		t.Helper()
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
			Namespace: aws.String("AWS/SQS"),
			MetricData: []cwtypes.MetricDatum{{
				MetricName: aws.String("ApproximateAgeOfOldestMessage"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(queue)}},
				Timestamp:  aws.Time(at), Value: aws.Float64(seconds), Unit: cwtypes.StandardUnitSeconds,
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(start.Add(-3*time.Minute), 100, "aged")
	put(start.Add(-2*time.Minute), 250, "aged")
	put(start.Add(-90*time.Second), 9999, "other") // another queue's

	src, err := sqssource.FromConfig(ctx, autoscale.QueueConfig{URL: *q.QueueUrl, Endpoint: endpoint, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(start)
	if err := src.ReadAgeFromCloudWatch(ctx, sqssource.CloudWatchAge{Endpoint: endpoint, Protocol: "query", Clock: clk}); err != nil {
		t.Fatal(err)
	}
	if !src.ReadsOldestAge() {
		t.Fatal("a source that reads CloudWatch says it cannot tell the age")
	}
	age := func() time.Duration {
		t.Helper()
		st, err := src.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.OldestAge
	}
	if got := age(); got != 250*time.Second {
		t.Fatalf("age %v; want the latest datapoint, 250s", got)
	}
	put(start.Add(-time.Minute), 400, "aged")
	clk.Advance(30 * time.Second)
	if got := age(); got != 250*time.Second {
		t.Fatalf("age %v within the period; want the last read, 250s", got)
	}
	clk.Advance(30 * time.Second)
	if got := age(); got != 400*time.Second {
		t.Fatalf("age %v a period later; want the new datapoint, 400s", got)
	}
}

// A CloudWatch that refuses the call fails the observation, naming the
// permission the role needs.
func TestOldestAgeFromCloudWatchReportsRefusal(t *testing.T) {
	t.Parallel()
	src := sqssource.New(answers{"ApproximateNumberOfMessages": "1"}, "http://127.0.0.1:1/000000000000/jobs")
	if err := src.ReadAgeFromCloudWatch(t.Context(), sqssource.CloudWatchAge{API: deniedCW{}}); err != nil {
		t.Fatal(err)
	}
	_, err := src.Observe(t.Context())
	if err == nil || !strings.Contains(err.Error(), "cloudwatch:GetMetricData") {
		t.Fatalf("err %v; want it to name cloudwatch:GetMetricData", err)
	}
}

// deniedCW refuses every GetMetricData, as CloudWatch does a role without
// cloudwatch:GetMetricData.
type deniedCW struct{}

func (deniedCW) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: cloudwatch:GetMetricData"}
}
