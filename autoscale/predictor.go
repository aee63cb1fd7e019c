package autoscale

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// PredictorConfig configures a Predictor.
type PredictorConfig struct {
	// Objective is the acceptable wait the predicted capacity serves an
	// episode's first arrivals within. Required.
	Objective time.Duration
	// QuietGap is the silence (no arrival, nothing visible) that ends an
	// arrival episode. Default 1m.
	QuietGap time.Duration
	// Tolerance is how far two intervals between episode starts may
	// differ and still be one period: the larger of this fraction of the
	// period and MinTolerance. Workers are ready the difference (at least
	// MinTolerance) before the episode is due, and wait for it as long
	// after. Defaults 0.1 and 1s.
	Tolerance    float64
	MinTolerance time.Duration
	// Episodes is how many recent episodes the predictor learns from.
	// Default 6.
	Episodes int
}

// episode is one run of arrivals: when it started, and how many messages
// arrived within the objective of its start.
type episode struct {
	start time.Time
	early float64
	// stream is the highest arrival rate seen from the objective to a
	// minute after the start: a burst has left the source's window by
	// then, a stream has not.
	stream float64
}

// Predictor learns load that recurs at a fixed period (a batch every ten
// minutes, a nightly job) from the arrival history, and raises the
// capacity a start-up before the next episode is due, so that its first
// messages find workers ready. The reactive policies stay the safety net:
// the predictor only ever raises the capacity they decide, within the
// bounds, and lets go once the episode has started or is overdue.
//
// Its decisions are a function of what it was shown (Observe) and the time
// it is asked (Floor), on the controller's injected clock. The controller's
// tickMu guards it.
type Predictor struct {
	cfg      PredictorConfig
	episodes []episode // oldest first, at most cfg.Episodes
	// Episode in progress: arriving since start, last arrival or visible
	// message at lastSeen.
	active   bool
	lastSeen time.Time
	lastAt   time.Time
	// hits and misses count predictions the episodes kept or missed.
	// predicted is whether the episode in progress came when due, quiet
	// whether the last reading saw nothing arrive or wait.
	predicted, quiet bool
	hits, misses     int
	missedFor        time.Time // the predicted start already counted as missed
	// The daily profile: messages that arrived in each minute of the day
	// (UTC), the last time that minute came; since is the first reading,
	// minute the minute being counted.
	perMinute [24 * 60]float64
	since     time.Time
	minute    int
}

// NewPredictor returns a Predictor; cfg.Objective must be positive.
func NewPredictor(cfg PredictorConfig) (*Predictor, error) {
	if cfg.Objective <= 0 {
		return nil, fmt.Errorf("autoscale: predictor: objective must be positive, got %s", cfg.Objective)
	}
	if cfg.Tolerance < 0 || cfg.MinTolerance < 0 || cfg.QuietGap < 0 || cfg.Episodes < 0 {
		return nil, fmt.Errorf("autoscale: predictor: negative setting in %+v", cfg)
	}
	if cfg.QuietGap == 0 {
		cfg.QuietGap = time.Minute
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = 0.1
	}
	if cfg.MinTolerance == 0 {
		cfg.MinTolerance = time.Second
	}
	if cfg.Episodes == 0 {
		cfg.Episodes = 6
	}
	return &Predictor{cfg: cfg}, nil
}

// Observe folds one reading of the queue, made at now, into the history.
func (p *Predictor) Observe(now time.Time, q QueueStats) {
	dt := 0.0
	if !p.lastAt.IsZero() {
		dt = max(0, now.Sub(p.lastAt).Seconds())
	}
	p.lastAt = now
	if p.since.IsZero() {
		p.since, p.minute = now, -1
	}
	if m := minuteOfDay(now); m != p.minute {
		p.minute, p.perMinute[m] = m, 0
	}
	p.perMinute[p.minute] += q.ArrivalRate * dt
	arriving := q.ArrivalRate > 0 || q.Visible > 0
	p.quiet = !arriving
	if p.active && now.Sub(p.lastSeen) >= p.cfg.QuietGap {
		p.active = false
	}
	if !arriving {
		return
	}
	if !p.active {
		p.active = true
		next, jitter, ok := p.due(p.episodes)
		p.predicted = ok && now.Sub(next).Abs() <= jitter
		if p.predicted {
			p.hits++
		}
		p.episodes = append(p.episodes, episode{start: now})
		if len(p.episodes) > p.cfg.Episodes {
			p.episodes = slices.Delete(p.episodes, 0, len(p.episodes)-p.cfg.Episodes)
		}
	}
	p.lastSeen = now
	e := &p.episodes[len(p.episodes)-1]
	if since := now.Sub(e.start); since < p.cfg.Objective {
		e.early += q.ArrivalRate * dt
	} else if since < time.Minute {
		e.stream = max(e.stream, q.ArrivalRate)
	}
}

// period returns the interval between the episodes' starts when the last
// two intervals agree within the tolerance (or, before any miss, the one
// interval of the first two episodes), and the window around a due time
// the next start is expected in: their difference, at least MinTolerance.
func (p *Predictor) period(eps []episode) (period, jitter time.Duration, ok bool) {
	n := len(eps)
	if n == 2 && p.misses == 0 {
		// One interval is a guess the next episode confirms; a
		// predictor that has missed waits for two that agree.
		return eps[1].start.Sub(eps[0].start), p.cfg.MinTolerance, true
	}
	if n < 3 {
		return 0, 0, false
	}
	a := eps[n-1].start.Sub(eps[n-2].start)
	b := eps[n-2].start.Sub(eps[n-3].start)
	d := (a - b).Abs()
	if d > max(p.cfg.MinTolerance, time.Duration(p.cfg.Tolerance*float64(a+b)/2)) {
		return 0, 0, false
	}
	return (a + b) / 2, max(p.cfg.MinTolerance, d), true
}

// due returns when the episode after eps is expected, and how far from
// then it may come.
func (p *Predictor) due(eps []episode) (time.Time, time.Duration, bool) {
	period, jitter, ok := p.period(eps)
	if !ok {
		return time.Time{}, 0, false
	}
	return eps[len(eps)-1].start.Add(period), jitter, true
}

// Floor returns the capacity to have at now so that an episode expected
// within lead (the start-up) finds it ready, for work that takes
// processing per message, and a sentence saying why; 0 when no episode is
// expected.
func (p *Predictor) Floor(now time.Time, lead, processing time.Duration) (int, string) {
	if _, _, ok := p.due(p.episodes); !ok && now.Sub(p.since) >= 24*time.Hour {
		return p.daily(now, lead, processing)
	}
	if p.active {
		// A predicted episode keeps its workers for its first minute,
		// until the policies have measured it, unless it is over
		// sooner (nothing arrives or waits).
		cur := p.episodes[len(p.episodes)-1]
		if !p.predicted || p.quiet || now.Sub(cur.start) >= time.Minute {
			return 0, ""
		}
		n, why := p.size(p.episodes[:len(p.episodes)-1], processing)
		return n, fmt.Sprintf("the episode came as predicted at %s: %s kept for its first minute", cur.start.Format(time.TimeOnly), why)
	}
	next, tol, ok := p.due(p.episodes)
	if !ok {
		return 0, fmt.Sprintf("no recurring load learned from %d episodes", len(p.episodes))
	}
	period, _, _ := p.period(p.episodes)
	if now.After(next.Add(tol)) {
		if !p.missedFor.Equal(next) {
			p.missedFor = next
			p.misses++
		}
		return 0, fmt.Sprintf("the episode due at %s did not come (%d kept, %d missed)", next.Format(time.TimeOnly), p.hits, p.misses)
	}
	// Workers are asked for a start-up, plus a margin for a start-up's
	// noise, before the earliest the episode may come.
	margin := max(time.Second, lead/20)
	if now.Before(next.Add(-tol).Add(-lead).Add(-margin)) {
		return 0, fmt.Sprintf("next episode due at %s (every %s)", next.Format(time.TimeOnly), period.Round(time.Second))
	}
	n, why := p.size(p.episodes, processing)
	return n, fmt.Sprintf("an episode recurs every %s (the last %d starts) and is due at %s ± %s: %s; %d kept, %d missed",
		period.Round(time.Second), min(3, len(p.episodes)), next.Format(time.TimeOnly), tol.Round(time.Second), why, p.hits, p.misses)
}

// size returns the workers an episode like eps needs at its start: the
// messages of its first objective served within it (less a twentieth for
// the noise of processing times), and the stream that follows them, as the
// queueing policy's steady state sizes it (the medians of the episodes).
func (p *Predictor) size(eps []episode, processing time.Duration) (int, string) {
	if len(eps) == 0 {
		return 0, "no episode known"
	}
	early := make([]float64, 0, len(eps))
	stream := make([]float64, 0, len(eps))
	for _, e := range eps {
		early, stream = append(early, e.early), append(stream, e.stream)
	}
	slices.Sort(early)
	slices.Sort(stream)
	med, rate := early[len(early)/2], stream[len(stream)/2]
	nBurst := int(math.Ceil(med*processing.Seconds()/(0.95*p.cfg.Objective.Seconds()) - 1e-9))
	nStream := policy.SteadyServers(rate, processing.Seconds(), p.cfg.Objective.Seconds(), 0.99, 0.95, 1<<16)
	n := max(nBurst, nStream)
	return n, fmt.Sprintf("%d workers ready for it (%d serve its first %s, %.0f messages of %s; %d its stream of %.1f msg/s; the medians of %d episodes)",
		n, nBurst, p.cfg.Objective, med, processing.Round(time.Millisecond), nStream, rate, len(eps))
}

func minuteOfDay(t time.Time) int {
	t = t.UTC()
	return t.Hour()*60 + t.Minute()
}

// daily is the floor of a load that follows the time of day, once a day of
// history is known and no recurring episode is: the workers whose M/M/c
// wait (as the queueing policy's steady state) stays within the objective
// at the rate that arrived a day ago in the minutes from now + lead to
// now + lead + 1 minute, when that brings a message per start-up or more.
func (p *Predictor) daily(now time.Time, lead, processing time.Duration) (int, string) {
	at := now.Add(lead)
	m := minuteOfDay(at)
	rate := max(p.perMinute[m], p.perMinute[(m+1)%len(p.perMinute)]) / 60
	if rate*lead.Seconds() < 1 {
		return 0, fmt.Sprintf("yesterday at %s arrivals ran at %.2f msg/s: fewer than one a start-up", at.UTC().Format("15:04"), rate)
	}
	n := policy.SteadyServers(rate, processing.Seconds(), p.cfg.Objective.Seconds(), 0.99, 0.95, 1<<16)
	return n, fmt.Sprintf("yesterday at %s arrivals ran at %.2f msg/s: %d workers ready for it (M/M/c: p99 wait <= %s)",
		at.UTC().Format("15:04"), rate, n, p.cfg.Objective)
}

// predict raises the outcome o to the predictor's floor (within b).
func (c *Controller) predict(now time.Time, in policy.Input, q QueueStats, b policy.Bounds, o policy.Outcome, d *Decision) policy.Outcome {
	pr := c.o.Predictor
	pr.Observe(now, q)
	pt := q.ProcessingTime
	if pt <= 0 {
		pt = c.lastPT
	}
	if pt <= 0 {
		d.Prediction = "no processing time measured yet"
		return o
	}
	c.lastPT = pt
	lead := in.StartupTime
	if lead <= 0 {
		lead = 30 * time.Second // until one start was measured
	}
	n, why := pr.Floor(now, lead, pt)
	d.Prediction = why
	n = min(n, b.Max)
	if n > o.Desired {
		o.Rule = "predicted"
		o.Reason = fmt.Sprintf("the predictor raises %d to %d: %s", o.Desired, n, why)
		o.Desired = n
		o.Voters = nil
	}
	return o
}
