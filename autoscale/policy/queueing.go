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
	// DrainFloor, a fraction in (0, 1], is the share of the acceptable
	// wait a backlog's sizing counts on: messages that new workers serve
	// may wait AcceptableWait + start-up, less (1 - DrainFloor) ×
	// AcceptableWait for the noise of processing times. Default 0.95.
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
	// Processing is the processing time's moving average (seconds) and
	// Samples how many measurements it holds (the first ones are averaged
	// plainly).
	Processing float64
	Samples    int
	// Window holds the recommendations of the stabilisation window whose
	// value no later one exceeds, oldest (and highest) first.
	Window []Recommendation
	// SmallOut is set by a small step out of a warm fleet and cleared by
	// a larger one: the hysteresis then holds back small steps in.
	SmallOut bool
	// PrevVisible and PrevTotal are the visible and the visible + in
	// flight counts of the previous evaluation.
	PrevVisible, PrevTotal int
	// Arrivals are the arrivals measured between evaluations while the
	// backlog tells them (see streamRate), over the last streamWindow,
	// oldest first.
	Arrivals []TickArrivals
}

// TickArrivals is the number of messages that arrived in the Dt seconds
// before At, as measured from the backlog's growth.
type TickArrivals struct {
	At    time.Time
	Dt, N float64
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
//     while messages wait, the rate is the stream measured from the
//     backlog's growth, leaving out a burst that arrived at once;
//   - backlog: the backlog forecast for the moment the workers asked for
//     are ready, taken as a burst as old as the oldest message followed by
//     the stream; enough workers that the burst is served by the oldest
//     message's deadline and the whole backlog within AcceptableWait +
//     start-up (new workers cannot beat their start-up), and, once
//     messages wait, enough to keep pace with the stream and catch up;
//     workers still starting count, so nothing is added while those will
//     cover the forecast at their ready time;
//   - scale-in: idle workers go at once when fewer than one message is
//     expected while they would be kept (ski rental); otherwise only to
//     the highest recommendation of the stabilisation window
//     (ScaleInWindow, at least IdleKeep start-up times), and a small step
//     in after a small step out of a warm fleet only to the highest of
//     hysteresisWindows windows.
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
		p.drainFrac = 0.95
	}
	return p, nil
}

// Name implements Policy.
func (p *Queueing) Name() string { return p.name }

// Config returns the policy's configuration.
func (p *Queueing) Config() QueueingConfig { return p.cfg }

// maxDeadband caps the rate's deadband where the noise of a random stream
// widens it.
const maxDeadband = 0.25

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

// streamWindow is how far back the arrivals measured from the backlog's
// growth are kept.
const streamWindow = 10 * time.Second

// measureArrivals records the messages that arrived since the previous
// evaluation, where the backlog tells them: the growth of visible + in
// flight plus what the workers completed meanwhile. That holds while
// messages wait (every running worker is busy, so completions are the
// measured completion rate, or the running workers' pace) or while nothing
// runs (nothing completes). Otherwise the measurements are dropped, and the
// source's windowed rate is the only evidence.
func (p *Queueing) measureArrivals(in Input, q QueueingState, dt, pt float64) QueueingState {
	total := in.Visible + in.InFlight
	prevVisible, prevTotal := q.PrevVisible, q.PrevTotal
	q.PrevVisible, q.PrevTotal = in.Visible, total
	if dt <= 0 {
		return q
	}
	var done float64
	switch {
	case in.Running == 0 || prevVisible == 0:
		// Nothing completes, or the backlog was empty: whatever the
		// workers did was the few messages they held.
	case in.CompletionRate > 0:
		done = in.CompletionRate * dt
	default:
		done = float64(in.Running) * dt / pt
	}
	// Completions are known while nothing runs or while every running
	// worker has a message queued behind the one it holds.
	measured := in.Visible > 0 && (in.Running == 0 || (prevVisible >= in.Running && in.Visible >= in.Running))
	if !measured {
		q.Arrivals = nil
		return q
	}
	keep := q.Arrivals
	for len(keep) > 0 && in.Now.Sub(keep[0].At) >= streamWindow {
		keep = keep[1:]
	}
	q.Arrivals = append(append(make([]TickArrivals, 0, len(keep)+1), keep...),
		TickArrivals{At: in.Now, Dt: dt, N: max(0, float64(total-prevTotal)+done)})
	return q
}

// streamRate is the rate of the arrivals measured from the backlog,
// leaving out the evaluation that saw the most (a burst that arrived at
// once is not a stream) and the quiet evaluations before the first
// arrival; ok is false with fewer than two measurements from the first
// arrival on.
func streamRate(ticks []TickArrivals) (rate float64, ok bool) {
	first := 0
	for first < len(ticks) && ticks[first].N == 0 {
		first++
	}
	ticks = ticks[first:]
	if len(ticks) < 2 {
		return 0, false
	}
	top := 0
	for i, t := range ticks {
		if t.N > ticks[top].N {
			top = i
		}
	}
	var n, dt float64
	for i, t := range ticks {
		if i != top {
			n, dt = n+t.N, dt+t.Dt
		}
	}
	if dt <= 0 {
		return 0, false
	}
	return n / dt, true
}

// observe folds in's rate and processing time into q.
func (p *Queueing) observe(in Input, q QueueingState) QueueingState {
	first := q.Last.IsZero()
	dt := 0.0
	if !first {
		dt = max(0, in.Now.Sub(q.Last).Seconds())
	}
	q.Last = in.Now
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
	pt := q.Processing
	if pt == 0 {
		pt = p.defPT
	}
	q = p.measureArrivals(in, q, dt, pt)
	// While messages wait, the source's windowed rate may count a burst
	// that arrived at once; the backlog's own growth, the burst left out,
	// is the stream.
	rate := in.ArrivalRate
	if sr, ok := streamRate(q.Arrivals); in.Visible > 0 && !first {
		if ok {
			rate = min(rate, sr)
		} else {
			rate = min(rate, q.Rate)
		}
	}
	waiting := in.Visible > 0 && in.OldestAge.Seconds() >= p.wait/10
	if first {
		q.Rate = rate
	} else if waiting && rate < q.Rate {
		// Messages are waiting: the load is not falling, whatever a
		// windowed rate that still counts a quiet spell says.
	} else {
		// A fall is followed four times faster than a rise, so the rate
		// a burst leaves behind does not keep workers for minutes.
		tau := p.rateTau
		if rate < q.Rate {
			tau /= 4
		}
		q.Rate += smoothing(dt, tau) * (rate - q.Rate)
	}
	if sr, ok := streamRate(q.Arrivals); ok && in.Running == 0 {
		// Nothing runs, so the backlog's growth is the arrival rate
		// itself, fresher than any window (and 0 after a burst that
		// arrived at once).
		q.Rate = max(q.Rate, sr)
	}
	if q.Rate < 1e-6 || (in.ArrivalRate == 0 && in.Visible == 0 && q.Held*stopEvidence >= 5) {
		// Nothing arrived in the source's window, where the average
		// expects 5 or more: the load stopped (or was a burst), and the
		// average forgets it.
		q.Rate = 0
	}
	// The sizing rate follows every rise at once (too few workers is the
	// costly error) and a fall only beyond the deadband.
	// The deadband is at least three standard deviations of the falling
	// average of a random (Poisson) stream at the held rate, up to a
	// quarter of it: at 10 msg/s that is 17 %, so a steady stream's dips
	// do not shrink the fleet below what it needs (and the backlog bring
	// the worker back a start-up later). The cap keeps rare arrivals,
	// whose noise is as large as their rate, from holding it forever.
	noise := 3 * math.Sqrt(q.Held/(2*p.rateTau/4))
	band := q.Held * max(p.deadband, min(noise/max(q.Held, 1e-9), maxDeadband))
	if q.Rate > q.Held || q.Rate < q.Held-band {
		q.Held = q.Rate
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
		// rate less half the deadband and for the rate, unless it would
		// run the workers above the middle of MaxUtilization and 1: near
		// full utilisation the queue only grows, the backlog term adds a
		// worker and the steady state takes it away again once the
		// backlog is gone (a flap).
		hi := SteadyServers(sizing, pt, p.wait, p.quantile, p.maxUtil, 1<<16)
		lo := SteadyServers(sizing*(1-p.deadband/2), pt, p.wait, p.quantile, p.maxUtil, 1<<16)
		steady = hi
		if q.Steady >= lo && q.Steady <= hi && sizing*pt <= float64(q.Steady)*(1+p.maxUtil)/2 {
			steady = q.Steady
		}
	}
	q.Steady = steady

	// Backlog: workers that keep pace and drain what is queued, forecast
	// for the moment the capacity asked for is ready.
	backlog, why := 0, ""
	if B := float64(in.Visible); B > 0 {
		// The forecast rate: the average, or the stream measured from
		// the backlog's growth when that is higher (a burst that arrived
		// at once is left out of both).
		fast := q.Rate
		if sr, ok := streamRate(q.Arrivals); ok {
			if in.ArrivalRate > 0 {
				sr = min(sr, in.ArrivalRate) // the source's count bounds it
			}
			fast = max(fast, sr)
		}
		A := in.OldestAge.Seconds()
		pace, paceN := sizing, steady
		if in.Running == 0 || A > p.wait/2 {
			pace, paceN = fast, ceil(fast*pt/p.maxUtil)
		}
		margin := (1 - p.drainFrac) * p.wait
		// need sizes the workers that, ready in h seconds (drained
		// messages served by then by workers still starting), serve the
		// backlog forecast for then in time. Messages that new workers
		// serve cannot beat a start-up, so each may wait the acceptable
		// wait plus the start-up (less a margin for the noise of
		// processing times). The backlog is taken as a burst of
		// messages as old as the oldest (what the stream does not
		// explain) followed by the stream's arrivals: the last of the
		// burst is due when the oldest is, never sooner than half the
		// acceptable wait from then; the last of the stream is due a
		// whole wait plus start-up after the workers are ready. Beyond
		// that the workers keep pace with the stream and catch up
		// what exceeds the acceptable wait's worth of it within the
		// start-up plus the acceptable wait, so the wait comes back
		// under the objective once the fleet is warm.
		need := func(h, drained float64) (int, string) {
			bh := max(0, B+fast*h-float64(in.Running)*h/pt-drained)
			if bh == 0 {
				return 0, ""
			}
			age := A + h
			stream := min(bh, fast*age)
			burst := bh - stream
			// The start-up is allowed for where new workers serve the
			// backlog, or where the acceptable wait is half spent
			// already (they were started for it); a fresh backlog that
			// running workers serve has the acceptable wait alone.
			allow := S
			if h == 0 && A < p.wait/2 {
				allow = 0
			}
			burstLeft := max(p.wait+allow-age-margin, p.wait/2)
			streamLeft := p.wait + allow - margin
			nBurst := ceil(burst * pt / burstLeft)
			nLast := ceil(bh * pt / streamLeft)
			nCatch := 0
			if in.Running == 0 || A > p.wait/2 {
				nCatch = ceil(fast*pt/p.maxUtil + max(0, bh-fast*p.wait)*pt/(p.wait+allow))
			}
			n := max(1, nBurst, nLast, nCatch, paceN)
			return n, fmt.Sprintf("backlog %d (oldest %s) forecast at %.0f (%.0f burst, %.0f stream) in %s: the burst served within %s needs %d, the last message within %s needs %d, keeping pace with %.1f msg/s and catching up within %s needs %d: %d",
				in.Visible, secs(in.OldestAge), bh, burst, stream, secs(durOf(h)), secs(durOf(burstLeft)), nBurst, secs(durOf(streamLeft)), nLast, pace, secs(durOf(p.wait+allow)), max(nCatch, paceN), n)
		}
		// The running workers the backlog needs now are kept whatever
		// the forecast: a forecast that they drain it before new workers
		// could start says they are all busy until then, not that they
		// can go.
		nowNeed := 0
		if in.Running > 0 {
			n0, _ := need(0, 0)
			nowNeed = min(n0, in.Running)
		}
		switch {
		case in.Starting > 0:
			r := S
			if lo := st.LastOut.At; !lo.IsZero() {
				r = min(S, max(0, lo.Add(start).Sub(in.Now).Seconds()))
			}
			nr, wr := need(r, 0)
			if nr <= c {
				backlog, why = nr, fmt.Sprintf("with the %d starting workers ready: %s", in.Starting, wr)
				break
			}
			ns, ws := need(S, float64(in.Starting)*max(0, S-r)/pt)
			backlog, why = ns, "with new workers ready: "+ws
		case in.Running > 0:
			if n0, w0 := need(0, 0); n0 <= in.Running {
				backlog, why = n0, "now: "+w0
				break
			}
			fallthrough
		default:
			ns, ws := need(S, 0)
			backlog, why = ns, "with new workers ready: "+ws
		}
		if backlog < nowNeed {
			backlog = nowNeed
			why += fmt.Sprintf("; %d of the %d running workers are needed for the backlog now: %d", nowNeed, in.Running, backlog)
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
	// Small steps in wait for the longer hysteresis window (see below);
	// the recommendations are kept for it.
	long := hysteresisWindows * window
	old := q.Window
	keep := 0
	for keep < len(old) && in.Now.Sub(old[keep].At) >= long {
		keep++
	}
	old = old[keep:]
	end := len(old)
	for end > 0 && old[end-1].Desired <= rec {
		end--
	}
	q.Window = append(append(make([]Recommendation, 0, end+1), old[:end]...), Recommendation{At: in.Now, Desired: rec})
	highestLong := q.Window[0]
	highest := q.Window[len(q.Window)-1]
	for _, r := range q.Window {
		if in.Now.Sub(r.At) < window {
			highest = r
			break
		}
	}
	st.Queueing = q

	// Busy workers are the load measured directly: a scale-in never
	// leaves them above MaxUtilization while messages wait (the oldest
	// for a tenth of the acceptable wait or more).
	busy := 0
	if in.Visible > 0 && in.OldestAge.Seconds() >= p.wait/10 {
		busy = ceil(float64(in.InFlight) / p.maxUtil)
	}
	// The hysteresis is for noise: it holds back a small step in only
	// after a small step out of a warm fleet (nothing starting).
	if rec > c {
		st.Queueing.SmallOut = rec-c <= smallStep(rec) && in.Starting == 0 && c > 0
	}
	noisy := st.Queueing.SmallOut
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
	case in.Visible == 0 && sizing*window.Seconds() < 1 && max(rec, in.InFlight) < c:
		// Ski rental: an idle worker is kept for as long as its restart
		// would cost only when work is expected meanwhile; with fewer
		// than one message expected in that time, keeping it costs more
		// than starting one again when work comes. Workers holding a
		// message are not idle.
		to := max(rec, in.InFlight)
		prop.Desired, prop.Rule = to, "idle"
		prop.Reason = fmt.Sprintf("needs %d < capacity %d and nothing waits: at %.2f msg/s fewer than one message is expected in the %s an idle worker is worth keeping, so the idle workers go now (%d hold messages): %s %s",
			rec, c, sizing, secs(window), in.InFlight, steadyWhy, inputs)
	case highest.Desired >= c:
		prop.Rule = "stabilizing"
		prop.Reason = fmt.Sprintf("needs %d < capacity %d, but %d was recommended at %s, within the %s scale-in window: %s %s",
			rec, c, highest.Desired, highest.At.Format(time.TimeOnly), secs(window), steadyWhy, inputs)
	case busy >= c:
		prop.Rule = "busy"
		prop.Reason = fmt.Sprintf("needs %d < capacity %d, but %d workers are busy and %d would keep them at most %.0f%% utilised: %s %s",
			rec, c, in.InFlight, busy, 100*p.maxUtil, steadyWhy, inputs)
	case noisy && c-max(highest.Desired, busy) <= smallStep(c) && highestLong.Desired >= c:
		// Hysteresis: after a small step out, a small step in (a worker
		// or a tenth of the fleet) saves little and is the step a noisy
		// load reverses soonest, so it waits until the recommendation
		// stayed below the capacity for the longer window.
		prop.Rule = "hysteresis"
		prop.Reason = fmt.Sprintf("needs %d < capacity %d, but a step of %d or fewer waits %s below the capacity, and %d was recommended at %s: %s %s",
			rec, c, smallStep(c), secs(long), highestLong.Desired, highestLong.At.Format(time.TimeOnly), steadyWhy, inputs)
	default:
		to := max(highest.Desired, busy)
		if noisy && c-to <= smallStep(c) {
			to = max(to, highestLong.Desired)
		}
		prop.Desired, prop.Rule = to, "scale-in"
		prop.Reason = fmt.Sprintf("needs %d; the highest recommendation of the last %s is %d, %d workers are busy: %d < capacity %d: %s %s",
			rec, secs(window), highest.Desired, in.InFlight, to, c, steadyWhy, inputs)
	}
	return prop, st
}

// hysteresisWindows is how many stabilisation windows a small step in waits.
const hysteresisWindows = 6

// smallStep is the largest scale-in of a fleet of c that the hysteresis
// holds back: one worker, or a tenth of the fleet.
func smallStep(c int) int { return max(1, c/10) }

func durOf(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }
