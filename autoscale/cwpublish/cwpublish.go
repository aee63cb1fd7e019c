// Package cwpublish publishes the autoscaler's observations to Amazon
// CloudWatch as custom metrics, for users who keep scaling in AWS (an
// Application Auto Scaling or EC2 Auto Scaling target tracking policy on
// the metric) or want qscale's view in CloudWatch dashboards.
//
// By default it publishes what seed 000's monitoring service publishes:
// backlog per worker as metric "backlogpertask" in namespace "SQS/BACKLOG"
// with dimension SQSName=<queue name>, unit Count. Unlike the usual hand-written monitor, which
// sends one reading a minute, a Publisher takes every observation the
// controller makes (every second) and sends, once per Period, one
// statistic set per metric (sample count, sum, minimum, maximum), so a
// policy's Average statistic sees the mean over the period in one
// PutMetricData call.
//
// Wiring: give Publisher.OnDecision to autoscale.Options.OnDecision (or
// call Record from your own hook), Start the publisher, Stop it after the
// controller.
package cwpublish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
)

// API is the CloudWatch call the publisher makes; *cloudwatch.Client
// implements it.
type API interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

var _ API = (*cloudwatch.Client)(nil)

// Dimension is a CloudWatch dimension.
type Dimension struct {
	Name  string `json:"Name" yaml:"Name"`
	Value string `json:"Value" yaml:"Value"`
}

// Seed 000's metric: the defaults.
const (
	DefaultNamespace  = "SQS/BACKLOG"
	DefaultMetricName = "backlogpertask"
	DefaultDimension  = "SQSName"
	DefaultUnit       = "Count"
	DefaultPeriod     = time.Minute
)

// Names of the raw metrics published with Config.Raw, in the same
// namespace and with the same dimensions as backlog per worker. The queue
// counts carry SQS's own CloudWatch names.
const (
	MetricVisible  = "ApproximateNumberOfMessagesVisible"
	MetricInFlight = "ApproximateNumberOfMessagesNotVisible"
	MetricDelayed  = "ApproximateNumberOfMessagesDelayed"
	MetricRunning  = "RunningWorkers"
	MetricStarting = "StartingWorkers"
	MetricDesired  = "DesiredWorkers"
)

// Config configures a Publisher. The zero value plus QueueURL publishes
// seed 000's metric.
type Config struct {
	// Namespace; default "SQS/BACKLOG". It must not start with "AWS/".
	Namespace string
	// MetricName of backlog per worker; default "backlogpertask".
	MetricName string
	// Dimensions of every metric. nil: SQSName=<the queue's name, from
	// QueueURL>, or none without a QueueURL. An empty non-nil slice: none.
	Dimensions []Dimension
	// QueueURL names the queue for the default dimension.
	QueueURL string
	// Unit of every metric, a CloudWatch StandardUnit; default "Count".
	Unit string
	// Raw also publishes the counts backlog per worker is made of: visible,
	// in-flight and delayed messages, running, starting and desired
	// workers (the Metric* names).
	Raw bool
	// Period between PutMetricData calls, each sending one statistic set
	// per metric; default 1 min, at least 1 s. Under 1 min the metrics are
	// sent as high-resolution (StorageResolution 1), which CloudWatch
	// bills as such.
	Period time.Duration
	// Clock; default clock.Real{}.
	Clock clock.Clock
	// Logger receives publishing errors; default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.MetricName == "" {
		c.MetricName = DefaultMetricName
	}
	if c.Unit == "" {
		c.Unit = DefaultUnit
	}
	if c.Period == 0 {
		c.Period = DefaultPeriod
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Dimensions == nil && c.QueueURL != "" {
		name, err := QueueName(c.QueueURL)
		if err != nil {
			return c, err
		}
		c.Dimensions = []Dimension{{Name: DefaultDimension, Value: name}}
	}
	var errs []string
	if strings.HasPrefix(c.Namespace, "AWS/") {
		errs = append(errs, fmt.Sprintf("namespace %q: custom metrics cannot use the AWS/ namespaces", c.Namespace))
	}
	if c.Period < time.Second {
		errs = append(errs, fmt.Sprintf("period %s: must be at least 1s", c.Period))
	}
	if len(c.Dimensions) > 30 {
		errs = append(errs, fmt.Sprintf("%d dimensions: CloudWatch takes at most 30", len(c.Dimensions)))
	}
	for i, d := range c.Dimensions {
		if d.Name == "" || d.Value == "" {
			errs = append(errs, fmt.Sprintf("dimensions[%d]: Name and Value are required", i))
		}
	}
	if !validUnit(c.Unit) {
		errs = append(errs, fmt.Sprintf("unit %q is not a CloudWatch unit", c.Unit))
	}
	if len(errs) > 0 {
		return c, errors.New("cwpublish: " + strings.Join(errs, "; "))
	}
	return c, nil
}

func validUnit(u string) bool {
	for _, v := range types.StandardUnit("").Values() {
		if string(v) == u {
			return true
		}
	}
	return false
}

// QueueName returns the queue's name from its URL (the last path
// segment), as seed 000's SQSName dimension holds it.
func QueueName(queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("cwpublish: queue url %q is not an absolute URL", queueURL)
	}
	name := path.Base(strings.TrimSuffix(u.Path, "/"))
	if name == "" || name == "." || name == "/" {
		return "", fmt.Errorf("cwpublish: queue url %q names no queue", queueURL)
	}
	return name, nil
}

// stat is a statistic set being collected.
type stat struct {
	n, sum, min, max float64
}

func (s *stat) add(v float64) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n++
	s.sum += v
}

func (s *stat) merge(o stat) {
	if o.n == 0 {
		return
	}
	if s.n == 0 {
		*s = o
		return
	}
	s.n += o.n
	s.sum += o.sum
	s.min = math.Min(s.min, o.min)
	s.max = math.Max(s.max, o.max)
}

// Publisher collects observations and publishes them every Period.
//
// Lock order: lifeMu before mu.
type Publisher struct {
	api   API
	c     Config
	names []string // metric names, in the order values() returns them

	mu    sync.Mutex // guards stats, last
	stats []stat     // parallel to names
	last  time.Time  // time of the newest sample in stats

	lifeMu  sync.Mutex // guards started, ctx, cancel, done
	started bool
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Publisher that calls api; it collects at once and
// publishes once started.
func New(api API, c Config) (*Publisher, error) {
	if api == nil {
		return nil, errors.New("cwpublish: API is required")
	}
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	names := []string{c.MetricName}
	if c.Raw {
		names = append(names, MetricVisible, MetricInFlight, MetricDelayed, MetricRunning, MetricStarting, MetricDesired)
		for _, n := range names[1:] {
			if n == c.MetricName {
				return nil, fmt.Errorf("cwpublish: metric name %q is one of the raw metrics' names", n)
			}
		}
	}
	return &Publisher{api: api, c: c, names: names, stats: make([]stat, len(names))}, nil
}

// Config returns the publisher's configuration with its defaults applied.
func (p *Publisher) Config() Config { return p.c }

// Record adds one observation. It never blocks on I/O and is safe for
// concurrent use.
func (p *Publisher) Record(o autoscale.Observation) {
	vals := [...]float64{
		o.BacklogPerWorker,
		float64(o.Queue.Visible), float64(o.Queue.InFlight), float64(o.Queue.Delayed),
		float64(o.Fleet.Running), float64(o.Fleet.Starting), float64(o.Fleet.Desired),
	}
	if math.IsNaN(vals[0]) || math.IsInf(vals[0], 0) {
		return // CloudWatch refuses them; the policy never produces them
	}
	now := p.c.Clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.stats {
		p.stats[i].add(vals[i])
	}
	p.last = now
}

// OnDecision records a controller decision's observation; it has the
// signature of autoscale.Options.OnDecision. Decisions whose queue or fleet
// could not be read carry no observation and are skipped.
func (p *Publisher) OnDecision(d autoscale.Decision) {
	if d.Rule == "observe-error" || d.Rule == "fleet-error" {
		return
	}
	p.Record(d.Observation)
}

// Flush publishes what was collected since the last publication, in one
// PutMetricData call; nothing is sent when nothing was collected. When the
// call fails the statistics are kept and merged into the next one.
func (p *Publisher) Flush(ctx context.Context) error {
	p.mu.Lock()
	stats, last := p.stats, p.last
	p.stats = make([]stat, len(p.names))
	p.mu.Unlock()
	if stats[0].n == 0 {
		return nil
	}
	in := p.input(stats, last)
	if _, err := p.api.PutMetricData(ctx, in); err != nil {
		p.mu.Lock()
		for i := range p.stats {
			stats[i].merge(p.stats[i])
		}
		p.stats = stats
		if p.last.Before(last) {
			p.last = last
		}
		p.mu.Unlock()
		return fmt.Errorf("cwpublish: PutMetricData %s: %w", p.c.Namespace, err)
	}
	return nil
}

func (p *Publisher) input(stats []stat, at time.Time) *cloudwatch.PutMetricDataInput {
	dims := make([]types.Dimension, len(p.c.Dimensions))
	for i, d := range p.c.Dimensions {
		dims[i] = types.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)}
	}
	var res *int32
	if p.c.Period < time.Minute {
		res = aws.Int32(1)
	}
	in := &cloudwatch.PutMetricDataInput{Namespace: aws.String(p.c.Namespace)}
	for i, name := range p.names {
		s := stats[i]
		in.MetricData = append(in.MetricData, types.MetricDatum{
			MetricName: aws.String(name),
			Dimensions: dims,
			Timestamp:  aws.Time(at),
			Unit:       types.StandardUnit(p.c.Unit),
			StatisticValues: &types.StatisticSet{
				SampleCount: aws.Float64(s.n), Sum: aws.Float64(s.sum),
				Minimum: aws.Float64(s.min), Maximum: aws.Float64(s.max),
			},
			StorageResolution: res,
		})
	}
	return in
}

// ErrStarted is returned by Start on a Publisher that was started before.
var ErrStarted = errors.New("cwpublish: publisher already started")

// Start publishes every Period in the background until ctx ends or Stop is
// called, and returns at once.
func (p *Publisher) Start(ctx context.Context) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.started {
		return ErrStarted
	}
	p.started = true
	p.ctx = ctx
	var loopCtx context.Context
	loopCtx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go p.loop(loopCtx, p.done)
	return nil
}

func (p *Publisher) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		t := p.c.Clock.NewTimer(p.c.Period)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		if err := p.Flush(ctx); err != nil && ctx.Err() == nil {
			p.c.Logger.WarnContext(ctx, "publishing to CloudWatch failed; the statistics go with the next period", "err", err)
		}
	}
}

// StopTimeout bounds the last publication Stop makes.
const StopTimeout = 10 * time.Second

// Stop ends the loop and publishes what is left, within ctx and at most
// StopTimeout, even when the context Start was given has ended. It is
// idempotent and safe to call before Start (then it does nothing). It
// returns the last publication's error.
func (p *Publisher) Stop(ctx context.Context) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	p.cancel = func() {}
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("cwpublish: stop: %w", ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, StopTimeout)
	defer cancel()
	return p.Flush(ctx)
}
