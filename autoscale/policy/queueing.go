package policy

import (
	"fmt"
	"math"
	"time"
)

// QueueingConfig configures the queueing policy, qscale's default: the user
// states the acceptable wait, and the policy sizes the fleet from queueing
// theory (the steady state the arrival rate needs) and from the backlog (what
// drains the queued messages in the wait that is left), counting workers that
// are still starting.
type QueueingConfig struct {
	// AcceptableWait is the longest a message should wait, e.g. 10s.
	AcceptableWait Duration `json:"acceptableWait" yaml:"acceptableWait"`
	// Quantile of the wait held under AcceptableWait in the steady state,
	// in (0, 1). Default 0.99.
	Quantile float64 `json:"quantile,omitempty" yaml:"quantile,omitempty"`
	// DefaultProcessingTime is used until one is measured. Default
	// AcceptableWait / 100.
	DefaultProcessingTime Duration `json:"defaultProcessingTime,omitempty" yaml:"defaultProcessingTime,omitempty"`
	// DefaultStartupTime is used until the controller has measured how
	// long the fleet takes to start a worker. Default 30s.
	DefaultStartupTime *Duration `json:"defaultStartupTime,omitempty" yaml:"defaultStartupTime,omitempty"`
	// RateWindow is the time constant of the arrival rate's moving
	// average as the rate rises; it falls with a quarter of it. Default 60s.
	RateWindow Duration `json:"rateWindow,omitempty" yaml:"rateWindow,omitempty"`
	// RateDeadband: the rate used for sizing follows every rise of the
	// average, and a fall only once the average is more than this fraction
	// below it. Default 0.1.
	RateDeadband *float64 `json:"rateDeadband,omitempty" yaml:"rateDeadband,omitempty"`
	// ProcessingWindow is the time constant of the processing time's
	// moving average (each measurement clamped to half..twice the
	// estimate). Default 2m.
	ProcessingWindow Duration `json:"processingWindow,omitempty" yaml:"processingWindow,omitempty"`
	// MaxUtilization caps the steady-state utilisation, so an estimate a
	// little low does not let the queue grow. Default 0.95.
	MaxUtilization float64 `json:"maxUtilization,omitempty" yaml:"maxUtilization,omitempty"`
	// ScaleInWindow is the shortest scale-down stabilisation window: a
	// scale-in goes to the highest recommendation of the window, never
	// lower. Default 10s.
	ScaleInWindow *Duration `json:"scaleInWindow,omitempty" yaml:"scaleInWindow,omitempty"`
	// IdleKeep, in start-up times, is how long an idle worker is kept
	// before it is let go: keeping it that long costs what starting it
	// again would (ski rental). The stabilisation window is the longer of
	// ScaleInWindow and IdleKeep × start-up time. Default 1.
	IdleKeep *float64 `json:"idleKeep,omitempty" yaml:"idleKeep,omitempty"`
	// DrainFloor, a fraction of AcceptableWait + start-up time, is the
	// shortest time the backlog is given to drain once new workers are
	// ready, when the wait left is shorter or already spent (a start from
	// idle). Default 0.5.
	DrainFloor float64 `json:"drainFloor,omitempty" yaml:"drainFloor,omitempty"`
	// DisableScaleIn: never scale in.
	DisableScaleIn bool `json:"disableScaleIn,omitempty" yaml:"disableScaleIn,omitempty"`
}

// Validate reports every problem in c, each as a FieldError.
func (c QueueingConfig) Validate() error {
	var errs Errors
	if c.AcceptableWait <= 0 {
		errs.add("acceptableWait", "must be a positive duration such as 10s, got %s", c.AcceptableWait)
	}
	if c.Quantile != 0 && !(c.Quantile > 0 && c.Quantile < 1) {
		errs.add("quantile", "must be in (0, 1), got %v", c.Quantile)
	}
	if c.DefaultProcessingTime < 0 {
		errs.add("defaultProcessingTime", "must be positive, got %s", c.DefaultProcessingTime)
	}
	if c.DefaultStartupTime != nil && *c.DefaultStartupTime < 0 {
		errs.add("defaultStartupTime", "must not be negative, got %s", *c.DefaultStartupTime)
	}
	if c.RateWindow < 0 {
		errs.add("rateWindow", "must not be negative, got %s", c.RateWindow)
	}
	if c.RateDeadband != nil && (*c.RateDeadband < 0 || *c.RateDeadband >= 1) {
		errs.add("rateDeadband", "must be in [0, 1), got %v", *c.RateDeadband)
	}
	if c.ProcessingWindow < 0 {
		errs.add("processingWindow", "must not be negative, got %s", c.ProcessingWindow)
	}
	if c.MaxUtilization != 0 && !(c.MaxUtilization > 0 && c.MaxUtilization <= 1) {
		errs.add("maxUtilization", "must be in (0, 1], got %v", c.MaxUtilization)
	}
	if c.ScaleInWindow != nil && *c.ScaleInWindow < 0 {
		errs.add("scaleInWindow", "must not be negative, got %s", *c.ScaleInWindow)
	}
	if c.IdleKeep != nil && *c.IdleKeep < 0 {
		errs.add("idleKeep", "must not be negative, got %v", *c.IdleKeep)
	}
	if c.DrainFloor != 0 && !(c.DrainFloor > 0 && c.DrainFloor <= 1) {
		errs.add("drainFloor", "must be in (0, 1], got %v", c.DrainFloor)
	}
	return errs.err()
}

// QueueingState is what the queueing policy remembers: the moving averages
// and the recommendations of the stabilisation window. It is a value; Decide
// copies the slice before changing it.
type QueueingState struct {
	// Last is the previous evaluation.
	Last time.Time
	// Rate is the arrival rate's moving average (messages per second) and
	// Held the rate used for sizing, moved only outside the deadband.
	Rate, Held float64
	// Steady is the steady-state count last proposed.
	Steady int
	// LastVisible is the visible count of the previous evaluation when no
	// worker was running then (0 otherwise).
	LastVisible int
	// Processing is the processing time's moving average (seconds) and
	// Samples how many measurements it holds (the first ones are averaged
	// plainly).
	Processing float64
	Samples    int
	// Window holds the recommendations of the stabilisation window whose
	// value no later one exceeds, oldest (and highest) first.
	Window []Recommendation
}

// Recommendation is the capacity recommended at one evaluation.
type Recommendation struct {
	At      time.Time
	Desired int
}

// Queueing is the queueing policy (see QueueingConfig and docs/autoscaling.md):
//   - steady state: the smallest c whose M/M/c wait (Erlang C) stays under
//     AcceptableWait at Quantile for the smoothed, deadbanded arrival rate,
//     or 0 when arrivals are rarer than an idle worker is worth keeping;
//   - backlog: enough workers that the last queued message, in the backlog
//     forecast for the moment new workers are ready, starts within the
//     wait left (AcceptableWait - the oldest message's age at that moment,
//     at least DrainFloor × (AcceptableWait + start-up)), and enough to
//     keep shrinking it (arrival rate × processing time / MaxUtilization);
//     workers still starting count, so nothing is added while those will
//     cover the forecast at their ready time;
//   - scale-in only to the highest recommendation of the stabilisation
//     window (ScaleInWindow, at least IdleKeep start-up times).
type Queueing struct {
	name      string
	cfg       QueueingConfig
	wait      float64 // seconds
	quantile  float64
	defPT     float64
	defStart  time.Duration
	rateTau   float64
	deadband  float64
	ptTau     float64
	maxUtil   float64
	inWindow  time.Duration
	idleKeep  float64
	drainFrac float64
}

// NewQueueing returns a queueing policy; cfg must be valid.
func NewQueueing(name string, cfg QueueingConfig) (*Queueing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Queueing{name: name, cfg: cfg, wait: cfg.AcceptableWait.D().Seconds(),
		quantile: cfg.Quantile, defPT: cfg.DefaultProcessingTime.D().Seconds(), defStart: 30 * time.Second,
		rateTau: cfg.RateWindow.D().Seconds(), deadband: 0.1, ptTau: cfg.ProcessingWindow.D().Seconds(),
		maxUtil: cfg.MaxUtilization, inWindow: 10 * time.Second, idleKeep: 1, drainFrac: cfg.DrainFloor}
	if p.quantile == 0 {
		p.quantile = 0.99
	}
	if p.defPT == 0 {
		p.defPT = p.wait / 100
	}
	if cfg.DefaultStartupTime != nil {
		p.defStart = cfg.DefaultStartupTime.D()
	}
	if p.rateTau == 0 {
		p.rateTau = 60
	}
	if cfg.RateDeadband != nil {
		p.deadband = *cfg.RateDeadband
	}
	if p.ptTau == 0 {
		p.ptTau = 120
	}
	if p.maxUtil == 0 {
		p.maxUtil = 0.95
	}
	if cfg.ScaleInWindow != nil {
		p.inWindow = cfg.ScaleInWindow.D()
	}
	if cfg.IdleKeep != nil {
		p.idleKeep = *cfg.IdleKeep
	}
	if p.drainFrac == 0 {
		p.drainFrac = 0.5
	}
	return p, nil
}

// Name implements Policy.
func (p *Queueing) Name() string { return p.name }

// Config returns the policy's configuration.
func (p *Queueing) Config() QueueingConfig { return p.cfg }

// stopEvidence is the shortest window (seconds) over which a source's
// arrival rate is assumed to count arrivals.
const stopEvidence = 10

// smoothing is the weight of a new value after dt seconds in a moving
// average with time constant tau.
func smoothing(dt, tau float64) float64 {
	if tau <= 0 {
		return 1
	}
	return 1 - math.Exp(-dt/tau)
}

// observe folds in's rate and processing time into q.
func (p *Queueing) observe(in Input, q QueueingState) QueueingState {
	first := q.Last.IsZero()
	dt := 0.0
	if !first {
		dt = max(0, in.Now.Sub(q.Last).Seconds())
	}
	q.Last = in.Now
	waiting := in.Visible > 0 && in.OldestAge.Seconds() >= p.wait/10
	if first {
		q.Rate = in.ArrivalRate
	} else if waiting && in.ArrivalRate < q.Rate {
		// Messages are waiting: the load is not falling, whatever a
		// windowed rate that still counts a quiet spell says.
	} else {
		// A fall is followed four times faster than a rise, so the rate
		// a burst leaves behind does not keep workers for minutes.
		tau := p.rateTau
		if in.ArrivalRate < q.Rate {
			tau /= 4
		}
		q.Rate += smoothing(dt, tau) * (in.ArrivalRate - q.Rate)
	}
	if in.Running == 0 && in.Visible > 0 && q.LastVisible > 0 && dt > 0 {
		// Nothing runs, so the backlog's growth since the last tick is
		// the arrival rate itself, fresher than any window (and 0 after a
		// burst that arrived at once).
		q.Rate = max(q.Rate, float64(in.Visible-q.LastVisible)/dt)
	}
	q.LastVisible = 0
	if in.Running == 0 {
		q.LastVisible = in.Visible
	}
	if q.Rate < 1e-6 || (in.ArrivalRate == 0 && in.Visible == 0 && q.Held*stopEvidence >= 5) {
		// Nothing arrived in the source's window, where the average
		// expects 5 or more: the load stopped (or was a burst), and the
		// average forgets it.
		q.Rate = 0
	}
	// The sizing rate follows every rise at once (too few workers is the
	// costly error) and a fall only beyond the deadband.
	if q.Rate > q.Held || q.Rate < q.Held*(1-p.deadband) {
		q.Held = q.Rate
	}
	if m := in.ProcessingTime.Seconds(); m > 0 {
		if q.Samples == 0 {
			q.Processing = m
		} else {
			m = min(max(m, q.Processing/2), 2*q.Processing)
			w := max(smoothing(dt, p.ptTau), 1/float64(q.Samples+1))
			q.Processing += w * (m - q.Processing)
		}
		q.Samples++
	}
	return q
}

// Decide implements Policy.
func (p *Queueing) Decide(in Input, st State) (Proposal, State) {
	q := p.observe(in, st.Queueing)
	pt, ptSrc := q.Processing, "measured"
	if pt == 0 {
		pt, ptSrc = p.defPT, "default"
	}
	start, startSrc := in.StartupTime, "learned"
	if start <= 0 {
		start, startSrc = p.defStart, "default"
	}
	S := start.Seconds()
	c := in.Capacity
	target := p.wait / pt

	// Steady state: Erlang C at the held rate, or nobody when arrivals are
	// rarer than an idle worker is worth keeping.
	// The sizing rate is the held average: a burst's instantaneous rate
	// is the backlog term's business, not the steady state's.
	sizing := q.Held
	steady := 0
	if sizing*max(S*p.idleKeep, p.wait) >= 1 {
		// Hysteresis against estimates hovering at a rounding edge: the
		// count held stays while it lies between the counts for the
		// rate less half the deadband and for the rate.
		hi := SteadyServers(sizing, pt, p.wait, p.quantile, p.maxUtil, 1<<16)
		lo := SteadyServers(sizing*(1-p.deadband/2), pt, p.wait, p.quantile, p.maxUtil, 1<<16)
		steady = hi
		if q.Steady >= lo && q.Steady <= hi {
			steady = q.Steady
		}
	}
	q.Steady = steady

	// Backlog: workers that keep pace and drain what is queued, forecast
	// for the moment the capacity asked for is ready.
	backlog, why := 0, ""
	if B := float64(in.Visible); B > 0 {
		fast := max(q.Rate, in.ArrivalRate)
		A := in.OldestAge.Seconds()
		if in.Running == 0 && A > 0 {
			// Nothing has been taken yet: the backlog's own growth is
			// the freshest rate.
			fast = max(fast, B/A)
		}
		pace, paceN := sizing, steady
		if in.Running == 0 || A > p.wait/2 {
			pace, paceN = fast, ceil(fast*pt/p.maxUtil)
		}
		need := func(h, drained float64) (int, float64, float64) {
			bh := max(0, B+fast*h-float64(in.Running)*h/pt-drained)
			if bh == 0 {
				return 0, 0, 0
			}
			left := max(p.wait-(A+h), p.drainFrac*(p.wait+S))
			return max(1, ceil(bh*pt/left), paceN), bh, left
		}
		explain := func(n int, h, bh, left float64, whose string) string {
			return fmt.Sprintf("backlog %d (oldest %s) forecast at %.0f when %s ready in %s: the last of them waits %s more on ceil(%.0f × %s / %s) workers, and ceil(%.1f msg/s × %s / %.2f) keep shrinking it: %d",
				in.Visible, secs(in.OldestAge), bh, whose, secs(time.Duration(h*float64(time.Second))), secs(durOf(left)), bh, secs(durOf(pt)), secs(durOf(left)), pace, secs(durOf(pt)), p.maxUtil, n)
		}
		switch {
		case in.Starting > 0:
			r := S
			if lo := st.LastOut.At; !lo.IsZero() {
				r = min(S, max(0, lo.Add(start).Sub(in.Now).Seconds()))
			}
			nr, br, lr := need(r, 0)
			if nr <= c {
				backlog, why = nr, explain(nr, r, br, lr, fmt.Sprintf("the %d starting workers are", in.Starting))
				break
			}
			ns, bs, ls := need(S, float64(in.Starting)*max(0, S-r)/pt)
			backlog, why = ns, explain(ns, S, bs, ls, "new workers would be")
		case in.Running > 0:
			if n0, b0, l0 := need(0, 0); n0 <= in.Running {
				backlog, why = n0, explain(n0, 0, b0, l0, "the running workers are")
				break
			}
			fallthrough
		default:
			ns, bs, ls := need(S, 0)
			backlog, why = ns, explain(ns, S, bs, ls, "new workers would be")
		}
	}
	rec, rule := steady, "steady-state"
	if backlog > steady {
		rec, rule = backlog, "backlog"
	}
	inputs := fmt.Sprintf("[arrivals %.2f msg/s now, %.2f averaged, sizing at %.2f; %s per message (%s), start-up %s (%s), target %.4g per worker]",
		in.ArrivalRate, q.Rate, sizing, secs(durOf(pt)), ptSrc, secs(start), startSrc, target)
	steadyWhy := fmt.Sprintf("steady state %d (M/M/c: p%g wait <= %s at %.2f msg/s)", steady, 100*p.quantile, p.cfg.AcceptableWait, sizing)
	if steady == 0 {
		steadyWhy = "steady state 0 (arrivals rarer than an idle worker is worth keeping)"
	}
	if why != "" {
		steadyWhy += "; " + why
	}

	// The stabilisation window: the recommendations of the last window,
	// keeping only those no later one exceeds.
	window := max(p.inWindow, time.Duration(p.idleKeep*float64(start)))
	old := q.Window
	keep := 0
	for keep < len(old) && in.Now.Sub(old[keep].At) >= window {
		keep++
	}
	old = old[keep:]
	end := len(old)
	for end > 0 && old[end-1].Desired <= rec {
		end--
	}
	q.Window = append(append(make([]Recommendation, 0, end+1), old[:end]...), Recommendation{At: in.Now, Desired: rec})
	highest := q.Window[0]
	st.Queueing = q

	// Busy workers are the load measured directly: a scale-in never
	// leaves them above MaxUtilization while messages wait (the oldest
	// for a tenth of the acceptable wait or more).
	busy := 0
	if in.Visible > 0 && in.OldestAge.Seconds() >= p.wait/10 {
		busy = ceil(float64(in.InFlight) / p.maxUtil)
	}
	prop := Proposal{Policy: p.name, Desired: c, Metric: in.BacklogPerWorker(), Target: target}
	switch {
	case rec > c:
		prop.Desired, prop.Rule = rec, rule
		prop.Reason = fmt.Sprintf("needs %d > capacity %d: %s %s", rec, c, steadyWhy, inputs)
	case rec == c:
		prop.Rule = "on-target"
		prop.Reason = fmt.Sprintf("capacity %d is what is needed: %s %s", c, steadyWhy, inputs)
	case p.cfg.DisableScaleIn:
		prop.Rule = "disable-scale-in"
		prop.Reason = fmt.Sprintf("needs %d < capacity %d, but scale-in is disabled: %s %s", rec, c, steadyWhy, inputs)
	case highest.Desired >= c:
		prop.Rule = "stabilizing"
		prop.Reason = fmt.Sprintf("needs %d < capacity %d, but %d was recommended at %s, within the %s scale-in window: %s %s",
			rec, c, highest.Desired, highest.At.Format(time.TimeOnly), secs(window), steadyWhy, inputs)
	case busy >= c:
		prop.Rule = "busy"
		prop.Reason = fmt.Sprintf("needs %d < capacity %d, but %d workers are busy and %d would keep them at most %.0f%% utilised: %s %s",
			rec, c, in.InFlight, busy, 100*p.maxUtil, steadyWhy, inputs)
	default:
		to := max(highest.Desired, busy)
		prop.Desired, prop.Rule = to, "scale-in"
		prop.Reason = fmt.Sprintf("needs %d; the highest recommendation of the last %s is %d, %d workers are busy: %d < capacity %d: %s %s",
			rec, secs(window), highest.Desired, in.InFlight, to, c, steadyWhy, inputs)
	}
	return prop, st
}

func durOf(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }
