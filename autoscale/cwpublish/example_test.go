package cwpublish_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/cwpublish"
	"github.com/qscale/qscale/internal/clock"
)

// printAPI prints what would be sent to CloudWatch.
type printAPI struct{}

func (printAPI) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	for _, d := range in.MetricData {
		s := d.StatisticValues
		fmt.Printf("%s %s %s=%s n=%v avg=%v max=%v %s\n", aws.ToString(in.Namespace), aws.ToString(d.MetricName),
			aws.ToString(d.Dimensions[0].Name), aws.ToString(d.Dimensions[0].Value),
			aws.ToFloat64(s.SampleCount), aws.ToFloat64(s.Sum)/aws.ToFloat64(s.SampleCount), aws.ToFloat64(s.Maximum), d.Unit)
	}
	return &cloudwatch.PutMetricDataOutput{}, nil
}

// Seed 000's metric from a minute of the controller's observations: one
// statistic set, whose average a target tracking policy reads.
func ExamplePublisher() {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pub, _ := cwpublish.New(printAPI{}, cwpublish.Config{
		QueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/qiita-sqs", Clock: clk,
	})
	// In a program: autoscale.Options{OnDecision: pub.OnDecision}.
	for _, visible := range []int{1500, 1200, 900} {
		pub.OnDecision(autoscale.Decision{Observation: autoscale.Observation{
			Queue: autoscale.QueueStats{Visible: visible}, Fleet: autoscale.FleetState{Running: 10, Desired: 10},
			BacklogPerWorker: float64(visible) / 10,
		}})
		clk.Advance(time.Second)
	}
	pub.Flush(context.Background())
	// Output: SQS/BACKLOG backlogpertask SQSName=qiita-sqs n=3 avg=120 max=150 Count
}
