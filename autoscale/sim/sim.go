// Package sim replays a load through the real autoscale.Controller and
// policies on a fake clock, with an in-memory fleet (package memfleet) whose
// workers take a start-up delay and process messages with a given
// distribution of processing times. It reports what users pay for (wait
// times, worker-seconds) and draws the run.
package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// Mode chooses the controller being simulated.
type Mode string

// Modes.
const (
	// QScale runs the given policies every Step, as qscale does.
	QScale Mode = "qscale"
	// AWS emulates the usual hand-built AWS set-up: a monitor publishes one snapshot
	// of backlog per task (visible / running tasks, visible when none
	// runs) to CloudWatch a minute; the target tracking alarms see a
	// datapoint AlarmDelay after its minute and evaluate once a minute; 3
	// datapoints above the target scale out, 15 below it scale in; never
	// from zero (so the minimum is at least 1).
	AWS Mode = "aws"
)

// Options of a run.
type Options struct {
	Scenario Scenario
	Mode     Mode
	// Policies for QScale mode; default: the queueing policy with an
	// acceptable wait of Objective.
	Policies []policy.Policy
	Bounds   policy.Bounds
	// Objective is the acceptable wait; the report counts the time the
	// oldest message waited longer. Default 10s.
	Objective time.Duration
	// AWSCooldown is the target tracking cooldown in AWS mode (both ways);
	// default 60s (seed 000's config.json).
	AWSCooldown time.Duration
	// AlarmDelay is how long after its minute a published datapoint
	// reaches the alarm in AWS mode; default 60s (see docs/autoscaling.md).
	AlarmDelay time.Duration
	// Step is the tick and the resolution of the simulation; default 1s.
	Step time.Duration
	// Seed for processing-time sampling.
	Seed uint64
	// KeepTimeline records a Sample per step for charts.
	KeepTimeline bool
	// Schedule changes the bounds in recurring windows, in QScale mode
	// (on the simulated clock, which starts at 2026-01-01 00:00 UTC plus
	// the start-up); the scenario's own schedule is added to it.
	Schedule autoscale.Schedule
	// Predict learns recurring load and starts workers ahead of it, in
	// QScale mode.
	Predict bool
}

// Sample is the state at the end of one step.
type Sample struct {
	At                time.Duration
	Visible, InFlight int
	Desired, Running  int
	Starting          int
	Backlog           float64
	// Oldest is the oldest visible message's age.
	Oldest time.Duration
}

// Action is one applied change of the fleet's desired count.
type Action struct {
	At       time.Duration
	From, To int
	Rule     string
	Reason   string
}

// Result is the outcome of a run.
type Result struct {
	Scenario  string
	Mode      Mode
	Duration  time.Duration
	Objective time.Duration
	Bounds    policy.Bounds

	Arrived, Completed, Remaining int
	WaitP50, WaitP95, WaitP99     time.Duration
	WaitMax                       time.Duration
	// WorkerSeconds counts every running or starting worker each second:
	// the cost.
	WorkerSeconds float64
	PeakWorkers   int
	// Actions are the applied scaling changes; Reversals counts changes of
	// direction between consecutive actions.
	Actions   []Action
	Reversals int
	// AboveObjective is the time the oldest visible message was older than
	// Objective.
	AboveObjective time.Duration
	// FirstScaleOut is the time from the first arrival to the first
	// scale-out (-1 if none).
	FirstScaleOut time.Duration
	// Episodes counts arrival episodes: runs of arrivals separated by at
	// least EpisodeGap without any.
	Episodes int
	// EpisodeMaxWait is the longest wait of each episode's messages, in
	// order (at most the first 1000 episodes).
	EpisodeMaxWait []time.Duration
	// Oracle is the cheapest clairvoyant schedule for the same arrivals.
	Oracle   Oracle
	Timeline []Sample
}

// EpisodeGap separates two arrival episodes: a minute without arrivals.
const EpisodeGap = time.Minute

// AllowedReversals is the flapping budget of a run: 2 per arrival episode
// plus 6 an hour.
func (r *Result) AllowedReversals() int {
	return 2*r.Episodes + int(math.Ceil(6*r.Duration.Hours()))
}

// OracleRatio is worker-seconds over the oracle's (0 when the oracle has
// none).
func (r *Result) OracleRatio() float64 {
	if r.Oracle.WorkerSeconds == 0 {
		return 0
	}
	return r.WorkerSeconds / r.Oracle.WorkerSeconds
}

// queue is a FIFO of arrival times (seconds from the start).
type queue struct {
	buf        []float64
	head, size int
}

func (q *queue) push(v float64) {
	if q.size == len(q.buf) {
		nb := make([]float64, max(1024, 2*len(q.buf)))
		for i := range q.size {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
}

func (q *queue) peek() float64 { return q.buf[q.head] }

func (q *queue) pop() float64 {
	v := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return v
}

// source is the simulated queue as the controller sees it.
type source struct {
	visible, inFlight int
	oldest            time.Duration
	arrivalRate       float64
	processing        time.Duration
}

func (s *source) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{
		Visible: s.visible, InFlight: s.inFlight, OldestAge: s.oldest,
		ArrivalRate: s.arrivalRate, ProcessingTime: s.processing,
	}, ctx.Err()
}

// DefaultAlarmDelay is how long after its minute a published one-minute
// datapoint reaches the target tracking alarm in AWS mode: the monitor
// publishes at the end of the minute and CloudWatch evaluates alarms once a
// minute, so the alarm acts on a datapoint one minute later.
const DefaultAlarmDelay = time.Minute

// published is AWS mode's view of the queue and the fleet: the monitor's
// snapshots, one a minute, as CloudWatch holds them; the fleet's desired
// and starting counts are the real ones (Application Auto Scaling reads the
// service's capacity directly).
type published struct {
	*memfleet.Fleet
	snaps []snapshot
	use   snapshot
}

type snapshot struct {
	at               time.Duration
	visible, running int
}

func (p *published) publish(at time.Duration, visible, running int) {
	p.snaps = append(p.snaps, snapshot{at, visible, running})
}

// ready selects the newest snapshot published at or before at, and reports
// whether there is one.
func (p *published) ready(at time.Duration) bool {
	ok := false
	for len(p.snaps) > 0 && p.snaps[0].at <= at {
		p.use, ok = p.snaps[0], true
		p.snaps = p.snaps[1:]
	}
	return ok
}

func (p *published) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{Visible: p.use.visible}, ctx.Err()
}

func (p *published) State(ctx context.Context) (autoscale.FleetState, error) {
	s, err := p.Fleet.State(ctx)
	s.Running = p.use.running
	return s, err
}

func fleetDesired(ctx context.Context, f *memfleet.Fleet) int {
	s, _ := f.State(ctx)
	return s.Desired
}

// Run simulates o.Scenario.
func Run(ctx context.Context, o Options) (*Result, error) {
	sc := o.Scenario
	if sc.Load == nil || sc.Duration <= 0 {
		return nil, fmt.Errorf("sim: scenario %q has no load or duration", sc.Name)
	}
	if o.Step <= 0 {
		o.Step = time.Second
	}
	if o.Objective <= 0 {
		o.Objective = 10 * time.Second
	}
	if o.AWSCooldown <= 0 {
		o.AWSCooldown = 60 * time.Second
	}
	if o.AlarmDelay < 0 {
		return nil, fmt.Errorf("sim: negative alarm delay %s", o.AlarmDelay)
	}
	if o.AlarmDelay == 0 {
		o.AlarmDelay = DefaultAlarmDelay
	}
	if o.Bounds.Max == 0 {
		o.Bounds = policy.Bounds{Min: 0, Max: 50}
	}
	if o.Mode == "" {
		o.Mode = QScale
	}
	if sc.Processing.Mean <= 0 {
		return nil, fmt.Errorf("sim: scenario %q has no processing time", sc.Name)
	}
	policies := o.Policies
	switch o.Mode {
	case QScale:
		if len(policies) == 0 {
			q, err := policy.NewQueueing("queueing", policy.QueueingConfig{AcceptableWait: policy.Duration(o.Objective)})
			if err != nil {
				return nil, err
			}
			policies = []policy.Policy{q}
		}
	case AWS:
		cd := int(o.AWSCooldown / time.Second)
		// The target AWS users set: acceptable latency / processing time.
		target := o.Objective.Seconds() / sc.Processing.Mean.Seconds()
		tt, err := policy.NewTargetTracking("aws-target-tracking", policy.TargetTrackingConfig{
			TargetValue: target, ScaleOutCooldown: &cd, ScaleInCooldown: &cd,
			ScaleOutDatapoints: 3, ScaleInDatapoints: 15,
		})
		if err != nil {
			return nil, err
		}
		policies = []policy.Policy{tt}
		o.Bounds.Min = max(o.Bounds.Min, 1)
	default:
		return nil, fmt.Errorf("sim: unknown mode %q (qscale or aws)", o.Mode)
	}

	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	fleet := memfleet.New(clk, sc.StartupDelay)
	initial := max(sc.InitialWorkers, o.Bounds.Min)
	if err := fleet.SetDesired(ctx, initial); err != nil {
		return nil, err
	}
	clk.Advance(sc.StartupDelay) // initial workers are ready at the start
	start = clk.Now()
	src := &source{}
	var ctrlSrc autoscale.QueueSource = src
	var ctrlFleet autoscale.Fleet = fleet
	pub := &published{Fleet: fleet}
	if o.Mode == AWS {
		ctrlSrc, ctrlFleet = pub, pub
	}
	res := &Result{Scenario: sc.Name, Mode: o.Mode, Duration: sc.Duration, Objective: o.Objective, Bounds: o.Bounds, FirstScaleOut: -1}
	var lastAction policy.Direction
	firstArrival := -1.0
	var schedule autoscale.Schedule
	var pred *autoscale.Predictor
	if o.Mode == QScale {
		schedule = append(append(schedule, o.Schedule...), sc.Schedule...)
		if o.Predict {
			p, err := autoscale.NewPredictor(autoscale.PredictorConfig{Objective: o.Objective})
			if err != nil {
				return nil, err
			}
			pred = p
		}
	}
	ctrl, err := autoscale.New(autoscale.Options{
		Source: ctrlSrc, Fleet: ctrlFleet, Policies: policies, Bounds: o.Bounds,
		Schedule: schedule, Predictor: pred,
		Interval: o.Step, Clock: clk, History: 16,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	var q queue
	hist := newHistogram()
	// Episodes' starts (seconds) and longest waits; ep is the episode of
	// the message taken last (messages are taken in order).
	var epStarts, epMax []float64
	ep := 0
	step := o.Step.Seconds()
	var recent [11]int // ring of the last arrivals per step; one slot spare
	recentSum := 0
	var ptSum float64
	var ptN int
	steps := int(sc.Duration / o.Step)
	arrivals := make([]int, steps)
	lastArrival := -1
	if o.KeepTimeline {
		res.Timeline = make([]Sample, 0, steps)
	}
	for i := range steps {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		at := time.Duration(i) * o.Step
		t := at.Seconds()
		end := t + step
		// Arrivals, spread evenly over the step.
		n := sc.Load.Arrivals(at, o.Step)
		for k := range n {
			q.push(t + (float64(k)+0.5)*step/float64(n))
		}
		res.Arrived += n
		arrivals[i] = n
		if n > 0 && firstArrival < 0 {
			firstArrival = t
		}
		if n > 0 {
			if lastArrival < 0 || time.Duration(i-lastArrival)*o.Step >= EpisodeGap {
				res.Episodes++
				if len(epStarts) < 1000 {
					epStarts = append(epStarts, t)
					epMax = append(epMax, 0)
				}
			}
			lastArrival = i
		}
		// The arrival rate over the last 10 steps (fewer at the start).
		recent[i%len(recent)] = n
		recentSum += n
		if i >= len(recent)-1 {
			recentSum -= recent[(i+1)%len(recent)]
		}
		src.arrivalRate = float64(recentSum) / (step * float64(min(i+1, len(recent)-1)))
		// Workers take messages in order, each until the step ends.
		now := start.Add(at)
		busy, running, starting := 0, 0, 0
		fleet.Range(func(w *memfleet.Worker) bool {
			ready := w.ReadyAt.Sub(start).Seconds()
			if ready >= end {
				starting++
				return true
			}
			running++
			free := max(w.BusyUntil.Sub(start).Seconds(), ready)
			for free < end && q.size > 0 {
				a := q.peek()
				s := max(free, a)
				if s >= end {
					break
				}
				q.pop()
				hist.add(s - a)
				for ep+1 < len(epStarts) && a >= epStarts[ep+1] {
					ep++
				}
				if ep < len(epMax) {
					epMax[ep] = max(epMax[ep], s-a)
				}
				pt := sc.Processing.sample(rng)
				ptSum += pt
				ptN++
				free = s + pt
				res.Completed++
			}
			if free > end {
				busy++
			}
			w.BusyUntil = start.Add(time.Duration(free * float64(time.Second)))
			return true
		})
		res.WorkerSeconds += float64(running+starting) * step
		res.PeakWorkers = max(res.PeakWorkers, running+starting)
		// Messages that arrived but were not taken are visible.
		src.visible, src.inFlight = q.size, busy
		src.oldest = 0
		if q.size > 0 {
			src.oldest = time.Duration((end - q.peek()) * float64(time.Second))
			if src.oldest > o.Objective {
				res.AboveObjective += o.Step
			}
		}
		if ptN > 0 {
			src.processing = time.Duration(ptSum / float64(ptN) * float64(time.Second))
			ptSum, ptN = 0, 0
		} else {
			src.processing = 0
		}
		// The controller ticks at the end of the step, on the same clock.
		clk.Set(now.Add(o.Step))
		var d autoscale.Decision
		if o.Mode == AWS {
			// The monitor publishes a snapshot at each minute; the alarm
			// evaluates once a minute, AlarmDelay after a datapoint's
			// minute, on the newest datapoint it has.
			end := at + o.Step
			if end%time.Minute == 0 {
				pub.publish(end, src.visible, running)
			}
			if (end-o.AlarmDelay)%time.Minute != 0 || !pub.ready(end-o.AlarmDelay) {
				if o.KeepTimeline {
					res.Timeline = append(res.Timeline, Sample{At: end, Visible: src.visible, InFlight: src.inFlight,
						Desired: fleetDesired(ctx, fleet), Running: running, Starting: starting, Oldest: src.oldest})
				}
				continue
			}
			d = ctrl.Tick(ctx)
		} else {
			d = ctrl.Tick(ctx)
		}
		if d.Changed() {
			res.Actions = append(res.Actions, Action{At: at + o.Step, From: d.From, To: d.To, Rule: d.Rule, Reason: d.Reason})
			dir := policy.DirectionOf(d.From, d.To)
			if lastAction != policy.Hold && dir != lastAction {
				res.Reversals++
			}
			lastAction = dir
			if dir == policy.Out && res.FirstScaleOut < 0 && firstArrival >= 0 {
				res.FirstScaleOut = at + o.Step - time.Duration(firstArrival*float64(time.Second))
			}
		}
		if o.KeepTimeline {
			s := d.Observation.Fleet
			res.Timeline = append(res.Timeline, Sample{
				At: at + o.Step, Visible: src.visible, InFlight: src.inFlight,
				Desired: d.To, Running: s.Running, Starting: s.Starting, Backlog: d.Observation.BacklogPerWorker, Oldest: src.oldest,
			})
		}
	}
	res.Remaining = q.size
	for _, m := range epMax {
		res.EpisodeMaxWait = append(res.EpisodeMaxWait, time.Duration(m*float64(time.Second)).Round(time.Millisecond))
	}
	res.Oracle = oracle(arrivals, step, sc.Processing.Mean.Seconds(), o.Objective.Seconds(), sc.StartupDelay.Seconds(), o.Bounds.Max)
	res.WaitP50, res.WaitP95, res.WaitP99 = hist.quantile(0.50), hist.quantile(0.95), hist.quantile(0.99)
	res.WaitMax = time.Duration(hist.max * float64(time.Second)).Round(time.Millisecond)
	return res, nil
}

// histogram of wait times: 1 ms buckets up to 60 s, then 1 s buckets up to
// 48 h.
type histogram struct {
	fine   []int64
	coarse []int64
	n      int64
	max    float64
}

func newHistogram() *histogram {
	return &histogram{fine: make([]int64, 60000), coarse: make([]int64, 48*3600)}
}

func (h *histogram) add(sec float64) {
	h.n++
	h.max = math.Max(h.max, sec)
	if sec < 60 {
		h.fine[int(sec*1000)]++
		return
	}
	h.coarse[min(int(sec), len(h.coarse)-1)]++
}

// quantile returns the upper edge of the bucket holding the q-quantile.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.fine {
		seen += c
		if seen >= rank {
			return time.Duration(i+1) * time.Millisecond
		}
	}
	for i, c := range h.coarse {
		seen += c
		if seen >= rank {
			return time.Duration(i+1) * time.Second
		}
	}
	return time.Duration(h.max * float64(time.Second))
}
