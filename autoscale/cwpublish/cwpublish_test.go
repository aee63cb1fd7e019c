package cwpublish_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/cwpublish"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

var serial atomic.Int64

// uniqueQueue returns a queue URL whose name no other test uses, so that
// tests sharing the moto server read back only their own metrics.
func uniqueQueue() (url, name string) {
	name = fmt.Sprintf("jobs-%d", serial.Add(1))
	return "http://127.0.0.1:9324/000000000000/" + name, name
}

func obs(backlog float64, visible, running int) autoscale.Observation {
	return autoscale.Observation{
		Queue:            autoscale.QueueStats{Visible: visible, InFlight: 2, Delayed: 1},
		Fleet:            autoscale.FleetState{Desired: running + 1, Running: running, Starting: 1},
		BacklogPerWorker: backlog,
	}
}

// statOf reads one statistic of a metric back from CloudWatch (moto) with
// GetMetricData.
func statOf(t *testing.T, cw *cloudwatch.Client, namespace, metric, stat string, dims []types.Dimension, from, to time.Time) []float64 {
	t.Helper()
	out, err := cw.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from), EndTime: aws.Time(to),
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String("q"),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String(metric), Dimensions: dims},
				Period: aws.Int32(60), Stat: aws.String(stat),
			},
		}},
	})
	if err != nil {
		t.Fatalf("GetMetricData %s %s: %v", metric, stat, err)
	}
	if len(out.MetricDataResults) != 1 {
		t.Fatalf("GetMetricData: %d results", len(out.MetricDataResults))
	}
	return out.MetricDataResults[0].Values
}

// Seed 000's metric published to moto (query and JSON protocols: moto 5.2
// speaks no CBOR) and read back with ListMetrics and GetMetricData.
func TestPublishToMoto(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{cwpublish.ProtocolQuery, cwpublish.ProtocolJSON} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			testPublishToMoto(t, proto)
		})
	}
}

func testPublishToMoto(t *testing.T, proto string) {
	endpoint := needMoto(t)
	ctx := t.Context()
	qurl, qname := uniqueQueue()
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	p, err := cwpublish.FromSettings(ctx, cwpublish.Settings{
		Config:   cwpublish.Config{QueueURL: qurl, Raw: true, Clock: clk},
		Endpoint: endpoint, Region: "us-east-1", Protocol: proto,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []autoscale.Observation{obs(150, 300, 2), obs(100, 400, 4), obs(50, 200, 4)} {
		p.Record(o)
		clk.Advance(time.Second)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cw := readClient(t, endpoint)
	list, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{
		Namespace:  aws.String("SQS/BACKLOG"),
		Dimensions: []types.DimensionFilter{{Name: aws.String("SQSName"), Value: aws.String(qname)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list.Metrics {
		names = append(names, aws.ToString(m.MetricName))
	}
	slices.Sort(names)
	want := []string{"ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesVisible", "DesiredWorkers", "RunningWorkers", "StartingWorkers", "backlogpertask"}
	if !slices.Equal(names, want) {
		t.Fatalf("ListMetrics: %v, want %v", names, want)
	}
	dims := []types.Dimension{{Name: aws.String("SQSName"), Value: aws.String(qname)}}
	from, to := clk.Now().Add(-10*time.Minute), clk.Now().Add(10*time.Minute)
	for _, c := range []struct {
		metric, stat string
		want         float64
	}{
		{"backlogpertask", "Average", 100},
		{"backlogpertask", "Maximum", 150},
		{"backlogpertask", "Minimum", 50},
		{"backlogpertask", "SampleCount", 3},
		{"ApproximateNumberOfMessagesVisible", "Sum", 900},
		{"RunningWorkers", "Maximum", 4},
	} {
		got := statOf(t, cw, "SQS/BACKLOG", c.metric, c.stat, dims, from, to)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s %s = %v, want [%v]", c.metric, c.stat, got, c.want)
		}
	}
}

// readClient is a CloudWatch client for moto: query protocol.
func readClient(t *testing.T, endpoint string) *cloudwatch.Client {
	t.Helper()
	return cloudwatch.New(cloudwatch.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *cloudwatch.Options) {
		// cloudwatch.New sets CBOR before applying options: the protocol
		// is set here, not in Options.
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
}

// The controller feeds the publisher through Options.OnDecision; what it
// observed reaches CloudWatch (moto).
func TestControllerFeedsPublisher(t *testing.T) {
	t.Parallel()
	endpoint := needMoto(t)
	ctx := t.Context()
	qurl, qname := uniqueQueue()
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	p, err := cwpublish.FromSettings(ctx, cwpublish.Settings{
		Config:   cwpublish.Config{QueueURL: qurl, Clock: clk},
		Endpoint: endpoint, Protocol: cwpublish.ProtocolQuery,
	})
	if err != nil {
		t.Fatal(err)
	}
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100})
	if err != nil {
		t.Fatal(err)
	}
	fleet := memfleet.New(clk, 0)
	ctrl, err := autoscale.New(autoscale.Options{
		Source: fixedQueue{visible: 1500}, Fleet: fleet, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Min: 0, Max: 50}, Clock: clk, OnDecision: p.OnDecision,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Backlog per worker: 1500 with no worker; the wake sizes the fleet
	// at 15 at once, then 1500/15 = 100.
	var seen []float64
	for range 3 {
		d := ctrl.Tick(ctx)
		seen = append(seen, d.Observation.BacklogPerWorker)
		clk.Advance(time.Second)
	}
	if !slices.Equal(seen, []float64{1500, 100, 100}) {
		t.Fatalf("backlog per worker observed %v", seen)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cw := readClient(t, endpoint)
	dims := []types.Dimension{{Name: aws.String("SQSName"), Value: aws.String(qname)}}
	from, to := clk.Now().Add(-10*time.Minute), clk.Now().Add(10*time.Minute)
	if got := statOf(t, cw, "SQS/BACKLOG", "backlogpertask", "Sum", dims, from, to); len(got) != 1 || got[0] != 1700 {
		t.Fatalf("Sum of backlogpertask = %v, want [1700]", got)
	}
	if got := statOf(t, cw, "SQS/BACKLOG", "backlogpertask", "SampleCount", dims, from, to); len(got) != 1 || got[0] != 3 {
		t.Fatalf("SampleCount of backlogpertask = %v, want [3]", got)
	}
}

type fixedQueue struct{ visible int }

func (q fixedQueue) Observe(context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{Visible: q.visible}, nil
}

// recordingAPI keeps every PutMetricData input and fails the calls it is
// told to.
type recordingAPI struct {
	mu    sync.Mutex
	puts  []*cloudwatch.PutMetricDataInput
	fail  int
	calls chan struct{}
}

func (r *recordingAPI) PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	r.mu.Lock()
	defer func() {
		r.mu.Unlock()
		if r.calls != nil {
			r.calls <- struct{}{}
		}
	}()
	if r.fail > 0 {
		r.fail--
		return nil, errors.New("throttled")
	}
	r.puts = append(r.puts, in)
	return &cloudwatch.PutMetricDataOutput{}, nil
}

func (r *recordingAPI) last() *cloudwatch.PutMetricDataInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.puts) == 0 {
		return nil
	}
	return r.puts[len(r.puts)-1]
}

func set(in *cloudwatch.PutMetricDataInput, metric string) types.StatisticSet {
	for _, d := range in.MetricData {
		if aws.ToString(d.MetricName) == metric {
			return *d.StatisticValues
		}
	}
	return types.StatisticSet{}
}

// The loop publishes every Period on the injected clock; a failed call
// keeps its statistics for the next; Stop publishes the rest.
func TestLoopPeriodsRetryAndStop(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	api := &recordingAPI{fail: 1, calls: make(chan struct{}, 10)}
	p, err := cwpublish.New(api, cwpublish.Config{Period: 10 * time.Second, Clock: clk, Dimensions: []cwpublish.Dimension{{Name: "Fleet", Value: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	// advance moves the clock one period and waits until the loop has
	// published (when it has something) and waits on its next timer.
	advance := func(publishes bool) {
		created := clk.TimerCreated()
		clk.Advance(10 * time.Second)
		if publishes {
			<-api.calls
		}
		<-created
	}
	created := clk.TimerCreated()
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); !errors.Is(err, cwpublish.ErrStarted) {
		t.Fatalf("second Start = %v", err)
	}
	<-created
	p.Record(obs(10, 10, 1))
	p.Record(obs(20, 40, 2))
	advance(true) // the first call fails
	if api.last() != nil {
		t.Fatal("a failed call was recorded")
	}
	p.Record(obs(30, 90, 3))
	advance(true)
	in := api.last()
	if in == nil {
		t.Fatal("nothing published")
	}
	got := set(in, "backlogpertask")
	if aws.ToFloat64(got.SampleCount) != 3 || aws.ToFloat64(got.Sum) != 60 || aws.ToFloat64(got.Minimum) != 10 || aws.ToFloat64(got.Maximum) != 30 {
		t.Fatalf("statistic set after a failed period: n=%v sum=%v min=%v max=%v, want 3, 60, 10, 30",
			aws.ToFloat64(got.SampleCount), aws.ToFloat64(got.Sum), aws.ToFloat64(got.Minimum), aws.ToFloat64(got.Maximum))
	}
	d := in.MetricData[0]
	if aws.ToString(in.Namespace) != "SQS/BACKLOG" || d.Unit != types.StandardUnitCount || aws.ToInt32(d.StorageResolution) != 1 ||
		len(d.Dimensions) != 1 || aws.ToString(d.Dimensions[0].Name) != "Fleet" || len(in.MetricData) != 1 {
		t.Fatalf("datum %+v in %s", d, aws.ToString(in.Namespace))
	}
	if want := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC); !aws.ToTime(d.Timestamp).Equal(want) {
		t.Fatalf("timestamp %v, want the newest sample's %v", aws.ToTime(d.Timestamp), want)
	}
	// An empty period sends nothing; Stop sends what is left.
	advance(false)
	p.Record(obs(5, 5, 1))
	if err := p.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-api.calls
	api.mu.Lock()
	n := len(api.puts)
	api.mu.Unlock()
	if n != 2 || aws.ToFloat64(set(api.last(), "backlogpertask").Sum) != 5 {
		t.Fatalf("%d calls, last %+v; want 2, the second with Stop's sample", n, api.last())
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// Stop publishes even after the context given to Start has ended, the way
// a process shutting down on a signal stops.
func TestStopAfterContextEnds(t *testing.T) {
	t.Parallel()
	api := &recordingAPI{}
	p, err := cwpublish.New(api, cwpublish.Config{Clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p.Record(obs(7, 7, 1))
	cancel()
	if err := p.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if in := api.last(); in == nil || aws.ToFloat64(set(in, "backlogpertask").Sum) != 7 || in.MetricData[0].StorageResolution != nil {
		t.Fatalf("Stop published %+v, want the sample at standard resolution", in)
	}
}

// Seed 000's config.json names the metric its AWS policy tracks;
// MetricFromSpec publishes exactly that metric.
func TestMetricFromSeedConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../policy/testdata/seed000_config.json")
	if err != nil {
		t.Fatal(err)
	}
	tt, err := policy.ParseTargetTracking(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cwpublish.MetricFromSpec(cwpublish.Config{Raw: true}, tt.CustomizedMetricSpecification)
	if err != nil {
		t.Fatal(err)
	}
	want := cwpublish.Config{Raw: true, Namespace: "SQS/BACKLOG", MetricName: "backlogpertask", Unit: "Count", Dimensions: []cwpublish.Dimension{{Name: "SQSName", Value: "qiita-sqs"}}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("MetricFromSpec = %+v, want %+v", c, want)
	}
	if _, err := cwpublish.MetricFromSpec(cwpublish.Config{}, map[string]any{"Metrics": []any{map[string]any{"Id": "m1"}}}); err == nil || !strings.Contains(err.Error(), "metric math") {
		t.Fatalf("metric math spec: %v", err)
	}
	// The default configuration is the same metric, from the queue URL.
	p, err := cwpublish.New(&recordingAPI{}, cwpublish.Config{QueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/qiita-sqs"})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Config()
	if got.Namespace != want.Namespace || got.MetricName != want.MetricName || got.Unit != want.Unit || !reflect.DeepEqual(got.Dimensions, want.Dimensions) || got.Period != time.Minute {
		t.Fatalf("defaults %+v", got)
	}
}

func TestConfigValidated(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		c    cwpublish.Config
		want string
	}{
		{cwpublish.Config{Namespace: "AWS/SQS"}, "AWS/ namespaces"},
		{cwpublish.Config{Period: time.Millisecond}, "at least 1s"},
		{cwpublish.Config{Unit: "Messages"}, "not a CloudWatch unit"},
		{cwpublish.Config{Dimensions: []cwpublish.Dimension{{Name: "SQSName"}}}, "Name and Value are required"},
		{cwpublish.Config{QueueURL: "jobs"}, "not an absolute URL"},
		{cwpublish.Config{Raw: true, MetricName: "RunningWorkers"}, "raw metrics' names"},
	} {
		if _, err := cwpublish.New(&recordingAPI{}, c.c); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", c.c, err, c.want)
		}
	}
	if _, err := cwpublish.FromSettings(t.Context(), cwpublish.Settings{Protocol: "xml"}); err == nil || !strings.Contains(err.Error(), "cbor, json or query") {
		t.Errorf("protocol xml: %v", err)
	}
}

// plain turns a decoded CBOR value into Go values for comparison.
func plain(v cbor.Value) any {
	switch v := v.(type) {
	case cbor.Map:
		m := map[string]any{}
		for k, e := range v {
			m[k] = plain(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = plain(e)
		}
		return l
	case cbor.String:
		return string(v)
	case cbor.Uint:
		return float64(v)
	case cbor.Float32:
		return float64(v)
	case cbor.Float64:
		return float64(v)
	case *cbor.Tag:
		if v.ID == 1 { // epoch-seconds timestamp
			f, _ := cbor.AsFloat64(v.Value)
			return time.Unix(0, int64(f*1e9)).UTC()
		}
		return plain(v.Value)
	}
	return v
}

// The SDK's default protocol, Smithy RPC v2 CBOR, which moto 5.2 does not
// speak: the request the publisher sends, decoded and checked field by
// field.
func TestCBORRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var path, proto string
	var body any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		v, err := cbor.Decode(b)
		mu.Lock()
		path, proto, body = r.URL.Path, r.Header.Get("Smithy-Protocol"), plain(v)
		mu.Unlock()
		if err != nil {
			t.Errorf("body is not CBOR: %v", err)
		}
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		w.Write(cbor.Encode(cbor.Map{}))
	}))
	t.Cleanup(srv.Close)
	at := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	p, err := cwpublish.FromSettings(t.Context(), cwpublish.Settings{
		Config:   cwpublish.Config{QueueURL: "http://127.0.0.1:9324/000000000000/jobs", Clock: clock.NewFake(at)},
		Endpoint: srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Record(obs(12.5, 25, 2))
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if path != "/service/GraniteServiceVersion20100801/operation/PutMetricData" || proto != "rpc-v2-cbor" {
		t.Fatalf("request to %s (Smithy-Protocol %q)", path, proto)
	}
	want := map[string]any{
		"Namespace": "SQS/BACKLOG",
		"MetricData": []any{map[string]any{
			"MetricName": "backlogpertask",
			"Dimensions": []any{map[string]any{"Name": "SQSName", "Value": "jobs"}},
			"Timestamp":  at,
			"Unit":       "Count",
			"StatisticValues": map[string]any{
				"SampleCount": 1.0, "Sum": 12.5, "Minimum": 12.5, "Maximum": 12.5,
			},
		}},
	}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("PutMetricData body\n%#v\nwant\n%#v", body, want)
	}
}
