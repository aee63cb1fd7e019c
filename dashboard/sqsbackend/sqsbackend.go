// Package sqsbackend is a dashboard.Backend over a fleet's queues read through the SQS
// API (Amazon SQS, a qscale server, an emulator), an autoscaler's decisions
// and its fleet: what `qscale autoscale` shows. It holds no queue, so it
// has no send, purge or message counters; with a Controller it can pause
// and resume the autoscaler.
package sqsbackend

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/queueset"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/clock"
)

// API is the SQS call the queues table makes; *sqs.Client implements it.
type API interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Controller is the autoscaler the dashboard can pause;
// *autoscale.Controller implements it.
type Controller interface {
	Decisions(n int) []autoscale.Decision
	Pause(by string)
	Resume()
	Paused() (bool, string)
}

// Queue is one queue of a fleet that has several.
type Queue struct {
	URL string
	API API
}

// Config says what the Backend reads.
type Config struct {
	// QueueURL is the autoscaled queue; required unless Queues is set.
	QueueURL string
	// API answers the queues table's GetQueueAttributes; required with
	// QueueURL.
	API API
	// Queues, instead of QueueURL and API, are the fleet's queues when it
	// has several; Source then reads them combined.
	Queues []Queue
	// Source reads the queue when the controller's last observation is
	// older than MaxAge; required.
	Source autoscale.QueueSource
	// Fleet is read with Source; required.
	Fleet autoscale.Fleet
	// Controller gives the decisions and the pause; nil shows no
	// decisions and no pause button.
	Controller Controller
	// Workers lists the fleet's workers (a local fleet's processes); nil
	// lists those whose status documents the fleet read at the
	// controller's last observation (every kind whose workers report:
	// Kubernetes, ECS, EC2 and local fleets alike).
	Workers func() []dashboard.WorkerInfo
	// Failures reports the fleet's handler failures and warnings (a
	// failwatch.Watch's Report); nil leaves Sample.Failures nil and the
	// dashboard's failure views hidden.
	Failures func() dashboard.Failures
	// MaxAge is how old the controller's last observation may be for a
	// sample to reuse it instead of calling SQS again; default 2s.
	MaxAge time.Duration
	// Clock dates the samples; default clock.Real{}.
	Clock clock.Clock
}

// Backend implements dashboard.Backend. It is safe for concurrent use.
type Backend struct {
	c      Config
	name   string   // the charted queue: the one queue, or the names joined by "+"
	queues []Queue  // every queue, for the queues table
	names  []string // their names
}

// pausable is a Backend with a Controller: it implements dashboard.Pauser.
type pausable struct{ *Backend }

var (
	_ dashboard.Backend         = (*Backend)(nil)
	_ dashboard.FeatureReporter = (*Backend)(nil)
	_ dashboard.Pauser          = pausable{}
)

// New returns the backend: a dashboard.Pauser too when c.Controller is set.
func New(c Config) (dashboard.Backend, error) {
	queues := c.Queues
	if len(queues) == 0 {
		queues = []Queue{{URL: c.QueueURL, API: c.API}}
	}
	switch {
	case queues[0].URL == "":
		return nil, errors.New("sqsbackend: Config.QueueURL is required")
	case c.Source == nil || c.Fleet == nil:
		return nil, errors.New("sqsbackend: Config.API, Source and Fleet are required")
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 2 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	b := &Backend{c: c, queues: queues}
	for _, q := range queues {
		if q.API == nil {
			return nil, errors.New("sqsbackend: Config.API, Source and Fleet are required")
		}
		u, err := url.Parse(q.URL)
		if err != nil || path.Base(u.Path) == "/" || path.Base(u.Path) == "." {
			return nil, fmt.Errorf("sqsbackend: %q is not a queue URL", q.URL)
		}
		b.names = append(b.names, path.Base(u.Path))
	}
	b.name = strings.Join(b.names, "+")
	if c.Controller != nil {
		return pausable{b}, nil
	}
	return b, nil
}

// Features implements dashboard.FeatureReporter: no send, purge or
// counters (SQS reports none of them).
func (b *Backend) Features() dashboard.Features { return dashboard.Features{} }

// Sample implements dashboard.Backend from the controller's last
// observation when it is recent and succeeded, else from the source and
// the fleet directly.
func (b *Backend) Sample(ctx context.Context) (dashboard.Sample, error) {
	now := b.c.Clock.Now()
	s := dashboard.Sample{Time: now, Queue: b.name}
	var last autoscale.Decision
	if ds := b.Decisions(1); len(ds) > 0 {
		last = ds[0]
	}
	q, f := last.Observation.Queue, last.Observation.Fleet
	if last.Seq == 0 || last.Error != "" && last.Rule != "backoff" || now.Sub(last.Time) > b.c.MaxAge {
		var err error
		if q, err = b.c.Source.Observe(ctx); err != nil {
			return s, fmt.Errorf("sqsbackend: %w", err)
		}
		if f, err = b.c.Fleet.State(ctx); err != nil {
			return s, fmt.Errorf("sqsbackend: fleet state: %w", err)
		}
	}
	s.Queues = []dashboard.QueueSample{{Name: b.name, Visible: q.Visible, InFlight: q.InFlight, Delayed: q.Delayed}}
	if set, ok := b.c.Source.(*queueset.Set); ok && len(b.queues) > 1 {
		// Each queue on its own row, charted together: the readings the
		// last observation (the controller's, or the one above) combined.
		if rs := set.Readings(); len(rs) > 0 {
			s.Queue, s.Queues = "", nil
			for _, r := range rs {
				s.Queues = append(s.Queues, dashboard.QueueSample{Name: r.Name, Visible: r.Stats.Visible, InFlight: r.Stats.InFlight, Delayed: r.Stats.Delayed})
			}
		}
	}
	s.Fleet = f
	s.BacklogPerWorker = float64(q.Visible)
	if f.Running > 0 {
		s.BacklogPerWorker /= float64(f.Running)
	}
	s.ProcessingTime = q.ProcessingTime
	if b.c.Failures != nil {
		f := b.c.Failures()
		s.Failures = &f
	}
	for _, p := range last.Proposals {
		if !p.Abstain && p.Target > 0 && (s.Target == 0 || p.Target < s.Target) {
			s.Target = p.Target
		}
	}
	return s, nil
}

// Queues implements dashboard.Backend: the fleet's queues with their SQS
// attributes.
func (b *Backend) Queues(ctx context.Context) ([]dashboard.QueueInfo, error) {
	infos := make([]dashboard.QueueInfo, 0, len(b.queues))
	for i, q := range b.queues {
		out, err := q.API.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(q.URL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
		})
		if err != nil {
			return nil, fmt.Errorf("sqsbackend: GetQueueAttributes %s: %w", q.URL, err)
		}
		infos = append(infos, dashboard.QueueInfo{Name: b.names[i], URL: q.URL, Attributes: out.Attributes})
	}
	return infos, nil
}

// Decisions implements dashboard.Backend.
func (b *Backend) Decisions(n int) []autoscale.Decision {
	if b.c.Controller == nil {
		return nil
	}
	return b.c.Controller.Decisions(n)
}

// Workers implements dashboard.Backend: Config.Workers, else the workers
// whose status documents the fleet read at the last observation, busy
// when they held a message.
func (b *Backend) Workers() []dashboard.WorkerInfo {
	if b.c.Workers != nil {
		return b.c.Workers()
	}
	ds := b.Decisions(1)
	if len(ds) == 0 || ds[0].Observation.Fleet.Sensors == nil {
		return nil
	}
	d := ds[0]
	ws := d.Observation.Fleet.Sensors.Workers
	out := make([]dashboard.WorkerInfo, len(ws))
	for i, w := range ws {
		state := "idle"
		if w.InFlight > 0 {
			state = "busy"
		}
		out[i] = dashboard.WorkerInfo{ID: w.ID, State: state, Since: d.Time}
	}
	return out
}

// Send implements dashboard.Backend: not here (dashboard.ErrUnsupported).
func (b *Backend) Send(context.Context, string, string) (string, error) {
	return "", fmt.Errorf("sqsbackend: the autoscaler's console sends no messages: %w", dashboard.ErrUnsupported)
}

// Purge implements dashboard.Backend: not here (dashboard.ErrUnsupported).
func (b *Backend) Purge(context.Context, string) error {
	return fmt.Errorf("sqsbackend: the autoscaler's console purges no queue: %w", dashboard.ErrUnsupported)
}

func (p pausable) Pause(by string)        { p.c.Controller.Pause(by) }
func (p pausable) Resume()                { p.c.Controller.Resume() }
func (p pausable) Paused() (bool, string) { return p.c.Controller.Paused() }
