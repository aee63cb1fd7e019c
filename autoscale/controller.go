package autoscale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/service"
)

// Options configure a Controller.
type Options struct {
	Source   QueueSource     // required
	Fleet    Fleet           // required
	Policies []policy.Policy // at least one
	Bounds   policy.Bounds
	// Interval between ticks; default 1s.
	Interval time.Duration
	// Clock; default clock.Real{}.
	Clock clock.Clock
	// Logger receives one record per decision: Info for changes and errors,
	// Debug for holds. Default: discard.
	Logger *slog.Logger
	// History is how many decisions Decisions can return; default 1000.
	History int
	// DryRun decides and records but never calls SetDesired.
	DryRun bool
	// MaxBackoff caps the wait between retries of a failed SetDesired
	// (1s, 2s, 4s, ...); default 30s.
	MaxBackoff time.Duration
	// AllowBelowBusy lets a scale-in go below the number of workers that
	// hold messages (FleetState.Busy). By default the controller keeps the
	// fleet at or above it (the busy floor, docs/autoscaling.md), so that
	// no scale-in stops a worker in the middle of a message.
	AllowBelowBusy bool
	// OnDecision, if set, is called with every decision from the tick's
	// goroutine.
	OnDecision func(Decision)
	// Guardrails bound the changes (guardrails.go); Reconfigure swaps them.
	Guardrails Guardrails
	// Schedule changes the bounds in recurring windows (schedule.go), on
	// Clock's time; Reconfigure replaces it (tickMu guards it then).
	Schedule Schedule
	// Predictor, when set, learns recurring load and raises the capacity
	// a start-up ahead of it (predictor.go).
	Predictor *Predictor
	// Learned seeds what the controller would otherwise learn from
	// scratch (learned.go): the processing time until one is measured,
	// the start-up time as one sample among the first measured.
	Learned Learned
}

// StartupTimer is a fleet that measures its own start-up time (the local
// process fleet). The controller uses it until it has measured one itself.
type StartupTimer interface {
	StartupTime() time.Duration
}

// ErrStarted is returned by Start on a Controller that was started before.
var ErrStarted = errors.New("autoscale: controller already started")

// Controller runs the observe, decide, apply loop.
//
// Lock order: tickMu before ring.mu. tickMu serialises ticks (the background
// loop and direct Tick calls) and guards set, seq, failures, retryAt,
// lastErr, startup, signals, lastPT, seedPT, measuredPT and
// Options.Predictor.
type Controller struct {
	o    Options
	ring *ring

	tickMu     sync.Mutex
	set        *policy.Set
	seq        uint64
	failures   int
	retryAt    time.Time
	lastErr    string
	startup    startupLearner
	g          guards // guardrails.go
	signals    signalLearner
	lastPT     time.Duration // the last processing time measured, for the predictor
	seedPT     time.Duration // Options.Learned's processing time
	measuredPT time.Duration // the processing time measured last

	lifeMu  sync.Mutex // guards started, cancel and done
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Controller; it does nothing until Start or Tick.
func New(o Options) (*Controller, error) {
	switch {
	case o.Source == nil:
		return nil, errors.New("autoscale: Options.Source is required")
	case o.Fleet == nil:
		return nil, errors.New("autoscale: Options.Fleet is required")
	case len(o.Policies) == 0:
		return nil, errors.New("autoscale: at least one policy is required")
	case o.Bounds.Min < 0 || o.Bounds.Max < o.Bounds.Min || o.Bounds.Max < 1:
		return nil, fmt.Errorf("autoscale: bounds %d..%d: need 0 <= min <= max and max >= 1", o.Bounds.Min, o.Bounds.Max)
	case o.Interval < 0:
		return nil, fmt.Errorf("autoscale: negative interval %s", o.Interval)
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if o.History <= 0 {
		o.History = 1000
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if err := o.Guardrails.Validate(); err != nil {
		return nil, fmt.Errorf("autoscale: guardrails: %w", err)
	}
	if err := o.Schedule.Validate(); err != nil {
		return nil, fmt.Errorf("autoscale: %w", err)
	}
	c := &Controller{o: o, ring: newRing(o.History), set: policy.NewSet(o.Bounds, o.Policies...)}
	c.g.cfg = o.Guardrails
	if o.Learned.ProcessingTime < 0 || o.Learned.StartupTime < 0 {
		return nil, fmt.Errorf("autoscale: negative learned times %+v", o.Learned)
	}
	c.seedPT = o.Learned.ProcessingTime
	if o.Learned.StartupTime > 0 {
		c.startup.add(o.Learned.StartupTime)
	}
	return c, nil
}

// Start runs a tick at once and then every Interval in the background, until
// ctx ends or Stop is called. It returns once the loop is running.
func (c *Controller) Start(ctx context.Context) error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.started {
		return ErrStarted
	}
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go c.loop(ctx, c.done)
	return nil
}

func (c *Controller) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		began := c.o.Clock.Now()
		c.Tick(ctx)
		// Ticks start every Interval, however long one takes.
		wait := c.o.Interval - c.o.Clock.Now().Sub(began)
		t := c.o.Clock.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// Stop ends the loop and waits, within ctx, for a tick in progress to
// finish (its I/O is cancelled). It is safe to call more than once, and
// before Start.
func (c *Controller) Stop(ctx context.Context) error {
	c.lifeMu.Lock()
	cancel, done := c.cancel, c.done
	c.lifeMu.Unlock()
	if err := service.Halt(ctx, cancel, done); err != nil {
		return fmt.Errorf("autoscale: stop: a tick is still running: %w", err)
	}
	return nil
}

// Decisions returns up to n recent decisions, oldest first.
func (c *Controller) Decisions(n int) []Decision { return c.ring.last(n) }

// Tick observes, decides and applies once, records the decision and returns
// it. Start calls it every Interval; the simulator calls it directly.
func (c *Controller) Tick(ctx context.Context) Decision {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	now := c.o.Clock.Now()
	c.seq++
	d := Decision{Seq: c.seq, Time: now}
	defer func() {
		c.ring.add(d)
		c.log(ctx, d)
		if c.o.OnDecision != nil {
			c.o.OnDecision(d)
		}
	}()

	q, err := c.o.Source.Observe(ctx)
	if err != nil {
		d.Rule, d.Error = "observe-error", err.Error()
		d.Reason = "cannot read the queue; nothing changes"
		c.observeFailed(ctx, now, &d)
		return d
	}
	f, err := c.o.Fleet.State(ctx)
	if err != nil {
		d.Rule, d.Error = "fleet-error", err.Error()
		d.Reason = "cannot read the fleet; nothing changes"
		return d
	}
	c.observedOK(now)
	c.signals.observe(now, q, f).fill(&q)
	c.fillLearned(&q)
	c.startup.observe(now, f)
	startup := c.startup.estimate()
	if startup == 0 {
		if st, ok := c.o.Fleet.(StartupTimer); ok {
			startup = st.StartupTime()
		}
	}
	in := policy.Input{
		Now: now, Capacity: f.Desired, Running: f.Running, Starting: f.Starting,
		Visible: q.Visible, InFlight: q.InFlight, Delayed: q.Delayed, OldestAge: q.OldestAge,
		ArrivalRate: q.ArrivalRate, CompletionRate: q.CompletionRate, ProcessingTime: q.ProcessingTime,
		StartupTime: startup,
	}
	d.Observation = Observation{Queue: q, Fleet: f, BacklogPerWorker: in.BacklogPerWorker(), StartupTime: startup}
	d.From, d.To = f.Desired, f.Desired

	if c.failures > 0 && now.Before(c.retryAt) {
		d.Rule, d.Attempt, d.Error = "backoff", c.failures, c.lastErr
		d.Reason = fmt.Sprintf("SetDesired failed %d times; next attempt at %s", c.failures, c.retryAt.Format(time.TimeOnly))
		return d
	}

	// The schedule moves the bounds of this tick only: the set keeps the
	// configured ones (Reconfigure replaces them).
	set := *c.set
	var why string
	if len(c.o.Schedule) > 0 {
		set.Bounds, why = c.o.Schedule.Bounds(now, c.set.Bounds)
		d.Schedule = why
	}
	o, next := set.Decide(in)
	if c.o.Predictor != nil {
		o = c.predict(now, in, q, set.Bounds, o, &d)
	}
	if why != "" {
		o.Reason = why + "; " + o.Reason
	}
	// Both only hold a scale-in back: the floor first, so that the
	// guardrails record what is applied.
	o = c.busyFloor(o, f)
	o = c.guard(ctx, now, o)
	d.To, d.Rule, d.Reason, d.Proposals = o.Desired, o.Rule, o.Reason, o.Proposals
	if o.Desired == f.Desired {
		c.set.Commit(in, o, next, false)
		d.Applied = true
		c.failures = 0
		return d
	}
	if c.o.DryRun {
		c.set.Commit(in, o, next, false)
		d.Reason = "dry run, not applied: " + d.Reason
		return d
	}
	if err := c.o.Fleet.SetDesired(ctx, o.Desired); err != nil {
		c.set.Commit(in, o, next, false)
		c.failures++
		c.lastErr = err.Error()
		wait := time.Second << min(c.failures-1, 16)
		c.retryAt = now.Add(min(wait, c.o.MaxBackoff))
		d.Error, d.Attempt = err.Error(), c.failures
		d.Reason = fmt.Sprintf("SetDesired(%d) failed, retrying at %s: %s", o.Desired, c.retryAt.Format(time.TimeOnly), d.Reason)
		return d
	}
	c.failures = 0
	c.set.Commit(in, o, next, true)
	c.startup.raised(now, f.Desired, o.Desired)
	c.applied(now, f.Desired, o.Desired)
	d.Applied = true
	return d
}

func (c *Controller) log(ctx context.Context, d Decision) {
	level := slog.LevelDebug
	msg := "hold"
	switch {
	case d.Error != "":
		level, msg = slog.LevelWarn, "error"
	case d.To != d.From:
		level, msg = slog.LevelInfo, "scale"
	}
	if !c.o.Logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.Uint64("seq", d.Seq),
		slog.Int("from", d.From), slog.Int("to", d.To),
		slog.String("rule", d.Rule), slog.String("reason", d.Reason),
		slog.Bool("applied", d.Applied),
		slog.Group("queue", "visible", d.Observation.Queue.Visible, "inFlight", d.Observation.Queue.InFlight, "delayed", d.Observation.Queue.Delayed),
		slog.Group("fleet", "desired", d.Observation.Fleet.Desired, "running", d.Observation.Fleet.Running, "starting", d.Observation.Fleet.Starting, "busy", d.Observation.Fleet.Busy),
		slog.Duration("processingTime", d.Observation.Queue.ProcessingTime),
		slog.Float64("backlogPerWorker", d.Observation.BacklogPerWorker),
		slog.Duration("startupTime", d.Observation.StartupTime),
	}
	if d.Schedule != "" {
		attrs = append(attrs, slog.String("schedule", d.Schedule))
	}
	if d.Prediction != "" {
		attrs = append(attrs, slog.String("prediction", d.Prediction))
	}
	for _, p := range d.Proposals {
		attrs = append(attrs, slog.Group("policy."+p.Policy, "desired", p.Desired, "rule", p.Rule, "reason", p.Reason))
	}
	if d.Error != "" {
		attrs = append(attrs, slog.String("error", d.Error), slog.Int("attempt", d.Attempt))
	}
	c.o.Logger.LogAttrs(ctx, level, "autoscale "+msg, attrs...)
}
