package sqssource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/sqsconn"
)

// CloudWatchAPI is the one CloudWatch call the age reader makes;
// *cloudwatch.Client implements it.
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ CloudWatchAPI = (*cloudwatch.Client)(nil)

// The metric Amazon SQS publishes for every active queue, read by
// CloudWatchAge: the age of the oldest message, in seconds, at 1-minute
// periods.
const (
	AgeNamespace = "AWS/SQS"
	AgeMetric    = "ApproximateAgeOfOldestMessage"
	AgeDimension = "QueueName"
	AgePeriod    = time.Minute
	// ageLookBack is how far back a read looks for the latest datapoint:
	// SQS's metrics arrive a few minutes late.
	ageLookBack = 15 * time.Minute
)

// CloudWatchAge configures the reading of the oldest message's age from
// CloudWatch (ReadAgeFromCloudWatch).
type CloudWatchAge struct {
	// API answers GetMetricData; default a client for the queue's region
	// with the SDK's credential chain (at Endpoint when set).
	API CloudWatchAPI
	// Endpoint overrides CloudWatch's endpoint (a test server).
	Endpoint string
	// Protocol is the wire protocol: "cbor" (the SDK's, the default),
	// "json" or "query" (what emulators such as moto speak).
	Protocol string
	// Every is how often CloudWatch is asked; in between the last age
	// read is kept. Default AgePeriod: the metric changes once a minute.
	Every time.Duration
	// Clock dates the reads; default clock.Real{}.
	Clock clock.Clock
}

// cwAge reads AWS/SQS ApproximateAgeOfOldestMessage of one queue.
type cwAge struct {
	c     CloudWatchAge
	queue string

	mu   sync.Mutex // guards last, at, read
	read bool
	at   time.Time
	last time.Duration
}

// ReadAgeFromCloudWatch makes the source report the oldest message's age
// from CloudWatch's AWS/SQS ApproximateAgeOfOldestMessage of the queue
// (1-minute period, the latest datapoint of the last 15 minutes; no
// datapoint reads as 0, which is what SQS publishes for an empty queue
// after a while), instead of asking the endpoint: what a policy on that
// metric needs on Amazon SQS, whose GetQueueAttributes has no such
// attribute. It needs cloudwatch:GetMetricData. Call it before the first
// Observe.
func (s *Source) ReadAgeFromCloudWatch(ctx context.Context, c CloudWatchAge) error {
	u, err := url.Parse(s.url)
	name := ""
	if err == nil {
		name = path.Base(strings.TrimSuffix(u.Path, "/"))
	}
	if name == "" || name == "." || name == "/" {
		return fmt.Errorf("sqssource: %q is not a queue URL", s.url)
	}
	if c.Every <= 0 {
		c.Every = AgePeriod
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.API == nil {
		cfg, err := sqsconn.AWSConfig(ctx, s.endpoint.Region, c.Endpoint, nil)
		if err != nil {
			return fmt.Errorf("sqssource: CloudWatch: %w", err)
		}
		cw, err := sqsconn.CloudWatch(cfg, c.Endpoint, c.Protocol)
		if err != nil {
			return fmt.Errorf("sqssource: %w", err)
		}
		c.API = cw
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cw = &cwAge{c: c, queue: name}
	return nil
}

// age is the queue's oldest message's age: CloudWatch's latest datapoint,
// asked at most once per Every.
func (a *cwAge) age(ctx context.Context) (time.Duration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.c.Clock.Now()
	if a.read && now.Sub(a.at) < a.c.Every {
		return a.last, nil
	}
	out, err := a.c.API.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-ageLookBack)),
		EndTime:   aws.Time(now),
		ScanBy:    types.ScanByTimestampDescending,
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String("age"),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{
					Namespace:  aws.String(AgeNamespace),
					MetricName: aws.String(AgeMetric),
					Dimensions: []types.Dimension{{Name: aws.String(AgeDimension), Value: aws.String(a.queue)}},
				},
				Period: aws.Int32(int32(AgePeriod / time.Second)),
				Stat:   aws.String("Maximum"),
			},
			ReturnData: aws.Bool(true),
		}},
	})
	if err != nil {
		return 0, fmt.Errorf("sqssource: CloudWatch GetMetricData %s %s of %s (the role needs cloudwatch:GetMetricData): %w", AgeNamespace, AgeMetric, a.queue, err)
	}
	var latest time.Time
	sec := 0.0
	for _, r := range out.MetricDataResults {
		if r.StatusCode == types.StatusCodeForbidden || r.StatusCode == types.StatusCodeInternalError {
			return 0, fmt.Errorf("sqssource: CloudWatch %s of %s: %s", AgeMetric, a.queue, r.StatusCode)
		}
		if len(r.Timestamps) != len(r.Values) {
			return 0, errors.New("sqssource: CloudWatch answered values and timestamps that do not pair")
		}
		for i, ts := range r.Timestamps {
			if ts.After(latest) {
				latest, sec = ts, r.Values[i]
			}
		}
	}
	if !(sec >= 0 && sec <= math.MaxInt64/float64(time.Second)) {
		return 0, fmt.Errorf("sqssource: CloudWatch %s of %s is %v, not seconds", AgeMetric, a.queue, sec)
	}
	a.read, a.at, a.last = true, now, time.Duration(sec*float64(time.Second))
	return a.last, nil
}
