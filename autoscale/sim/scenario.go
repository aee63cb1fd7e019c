package sim

import (
	"bufio"

	"fmt"
	"github.com/qscale/qscale/autoscale"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Load is the arrival of messages over time.
type Load interface {
	// Arrivals returns how many messages arrive in [at, at+step). It is
	// called once per step, in order.
	Arrivals(at, step time.Duration) int
}

// Burst is n messages at once, at At (the classic test: 10,000 messages).
type Burst struct {
	N  int
	At time.Duration
}

// Arrivals implements Load.
func (b Burst) Arrivals(at, step time.Duration) int {
	if b.At >= at && b.At < at+step {
		return b.N
	}
	return 0
}

// Rate is a load given as messages per second over time, spread evenly (the
// fractions carry over from step to step, so the total is exact).
type Rate struct {
	Fn    func(at time.Duration) float64
	carry float64
}

// Arrivals implements Load.
func (r *Rate) Arrivals(at, step time.Duration) int {
	r.carry += r.Fn(at) * step.Seconds()
	n := math.Floor(r.carry)
	r.carry -= n
	return int(n)
}

// Poisson is a load of Poisson arrivals whose rate (messages per second)
// changes over time; Seed makes it repeatable.
type Poisson struct {
	Fn   func(at time.Duration) float64
	Seed uint64
	rng  *rand.Rand
}

// Arrivals implements Load.
func (p *Poisson) Arrivals(at, step time.Duration) int {
	if p.rng == nil {
		p.rng = rand.New(rand.NewPCG(p.Seed, 0x5eed))
	}
	return poisson(p.rng, p.Fn(at)*step.Seconds())
}

// poisson draws a Poisson count of mean m: by multiplying uniforms below
// 30, by the normal approximation above.
func poisson(r *rand.Rand, m float64) int {
	if m <= 0 {
		return 0
	}
	if m > 30 {
		return max(0, int(math.Round(m+math.Sqrt(m)*r.NormFloat64())))
	}
	limit, k, prod := math.Exp(-m), 0, r.Float64()
	for prod > limit {
		k++
		prod *= r.Float64()
	}
	return k
}

// Bursts are batches of messages arriving at once: at Every (plus a random
// jitter of up to Jitter when set), or, with Every 0, at exponential
// intervals of mean Mean; each of Size messages, or, with Alpha > 0, of a
// Pareto size (shape Alpha, at least Size, at most Cap).
type Bursts struct {
	Every, Jitter, Mean time.Duration
	Size, Cap           int
	Alpha               float64
	// Until ends the bursts (0: never).
	Until time.Duration
	Seed  uint64
	rng   *rand.Rand
	next  time.Duration
}

// Arrivals implements Load.
func (b *Bursts) Arrivals(at, step time.Duration) int {
	if b.rng == nil {
		b.rng = rand.New(rand.NewPCG(b.Seed, 0xb0b))
		b.next = b.gap()
	}
	n := 0
	for b.next < at+step && (b.Until == 0 || b.next < b.Until) {
		size := b.Size
		if b.Alpha > 0 {
			size = min(b.Cap, int(float64(b.Size)/math.Pow(1-b.rng.Float64(), 1/b.Alpha)))
		}
		n += size
		b.next += b.gap()
	}
	return n
}

func (b *Bursts) gap() time.Duration {
	if b.Every > 0 {
		j := time.Duration(0)
		if b.Jitter > 0 {
			j = time.Duration(b.rng.Int64N(int64(b.Jitter)))
		}
		return b.Every + j
	}
	return time.Duration(b.rng.ExpFloat64() * float64(b.Mean))
}

// quietAfter is rate before end and 0 from then on: the built-in loads end
// with a quiet spell, so a run shows the fleet going back to its minimum
// and no message is left queued.
func quietAfter(at, end time.Duration, rate float64) float64 {
	if at >= end {
		return 0
	}
	return rate
}

// Trace replays recorded arrivals: counts per second.
type Trace struct {
	PerSecond []int
}

// Arrivals implements Load.
func (t Trace) Arrivals(at, step time.Duration) int {
	n := 0
	for s := at; s < at+step; s += time.Second {
		if i := int(s / time.Second); i >= 0 && i < len(t.PerSecond) {
			n += t.PerSecond[i]
		}
	}
	return n
}

// ReadTrace reads a CSV trace of arrivals: lines of "second,count" (second
// from the start of the run, a number; a header line is allowed), or lines
// of one number each, the arrival second of one message.
func ReadTrace(r io.Reader) (Trace, error) {
	var t Trace
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		sec, err := strconv.ParseFloat(strings.TrimSpace(fields[0]), 64)
		if err != nil {
			if line == 1 {
				continue // header
			}
			return t, fmt.Errorf("trace line %d: second %q is not a number", line, fields[0])
		}
		if sec < 0 || sec > 366*86400 {
			return t, fmt.Errorf("trace line %d: second %v out of range", line, sec)
		}
		count := 1
		if len(fields) > 1 {
			count, err = strconv.Atoi(strings.TrimSpace(fields[1]))
			if err != nil || count < 0 {
				return t, fmt.Errorf("trace line %d: count %q is not a non-negative integer", line, fields[1])
			}
		}
		i := int(sec)
		if i >= len(t.PerSecond) {
			t.PerSecond = slices.Grow(t.PerSecond, i+1-len(t.PerSecond))[:i+1]
		}
		t.PerSecond[i] += count
	}
	if err := sc.Err(); err != nil {
		return t, err
	}
	if len(t.PerSecond) == 0 {
		return t, fmt.Errorf("trace: no arrivals")
	}
	return t, nil
}

// Dist is a distribution of processing times.
type Dist struct {
	// Kind is "const", "exp" (exponential with mean Mean) or "uniform"
	// (Min..Max).
	Kind     string
	Mean     time.Duration
	Min, Max time.Duration
}

// ParseDist reads "const:100ms", "exp:100ms" or "uniform:50ms-150ms"; a bare
// duration is constant.
func ParseDist(s string) (Dist, error) {
	kind, arg, ok := strings.Cut(s, ":")
	if !ok {
		kind, arg = "const", s
	}
	switch kind {
	case "const", "exp":
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 {
			return Dist{}, fmt.Errorf("processing time %q: want a positive duration such as %s:100ms", s, kind)
		}
		return Dist{Kind: kind, Mean: d}, nil
	case "uniform":
		lo, hi, ok := strings.Cut(arg, "-")
		a, err1 := time.ParseDuration(lo)
		b, err2 := time.ParseDuration(hi)
		if !ok || err1 != nil || err2 != nil || a <= 0 || b < a {
			return Dist{}, fmt.Errorf("processing time %q: want uniform:MIN-MAX such as uniform:50ms-150ms", s)
		}
		return Dist{Kind: kind, Min: a, Max: b, Mean: (a + b) / 2}, nil
	}
	return Dist{}, fmt.Errorf("processing time %q: kind %q is not const, exp or uniform", s, kind)
}

func (d Dist) String() string {
	switch d.Kind {
	case "uniform":
		return fmt.Sprintf("uniform:%s-%s", d.Min, d.Max)
	case "":
		return "const:" + d.Mean.String()
	}
	return d.Kind + ":" + d.Mean.String()
}

// sample returns one processing time in seconds.
func (d Dist) sample(r *rand.Rand) float64 {
	switch d.Kind {
	case "exp":
		return r.ExpFloat64() * d.Mean.Seconds()
	case "uniform":
		return d.Min.Seconds() + r.Float64()*(d.Max-d.Min).Seconds()
	}
	return d.Mean.Seconds()
}

// Scenario is a load to replay and the fleet's physics.
type Scenario struct {
	Name     string
	Duration time.Duration
	Load     Load
	// Processing is the time one worker spends on one message.
	Processing Dist
	// StartupDelay is how long a new worker takes to become ready.
	StartupDelay time.Duration
	// InitialWorkers run at the start.
	InitialWorkers int
	// Schedule, in QScale mode, changes the bounds in recurring windows
	// (see Options.Schedule).
	Schedule autoscale.Schedule
}

// Scenarios lists the built-in scenarios by name.
var Scenarios = []string{"burst", "ramp", "daily", "stop", "steady", "bursts", "square", "drift", "heavy", "trickle"}

// Builtin returns a built-in scenario with the numbers of a typical hand-built AWS setup:
//   - burst: 10,000 messages at once after 10 s (seed 003's test), 20 min;
//   - ramp: 0 to 200 msg/s over an hour, held for 30 min, then 30 min quiet;
//   - daily: 24 h of a daily cycle between 5 and 95 msg/s, peak at 14:00;
//   - stop: 100 msg/s for 30 min, then nothing for 30 min (sudden stop);
//   - steady: Poisson arrivals at 100 msg/s for 55 min, then 5 min quiet;
//   - bursts: 3,000 messages at once every 10 min, 1 h;
//   - square: Poisson 100 msg/s for 5 min, then 5 min of nothing, 1 h;
//   - drift: Poisson 20 -> 80 msg/s over 2 h, with a 2-minute spike to
//     300 msg/s at 1 h, quiet for the last 5 min;
//   - heavy: bursts at exponential intervals (mean 5 min) of Pareto sizes
//     (shape 1.2, at least 200, at most 20,000 messages) for 110 min, then
//     10 min quiet;
//   - trickle: one message every 3 min on average (Poisson) for 115 min,
//     then 5 min quiet.
//
// Each uses 100 ms per message and a 30 s worker start-up unless the caller
// changes them.
func Builtin(name string) (Scenario, error) {
	s := Scenario{Name: name, Processing: Dist{Kind: "const", Mean: 100 * time.Millisecond}, StartupDelay: 30 * time.Second}
	switch name {
	case "burst":
		s.Duration, s.Load = 20*time.Minute, Burst{N: 10000, At: 10 * time.Second}
	case "ramp":
		s.Duration = 2 * time.Hour
		s.Load = &Rate{Fn: func(at time.Duration) float64 {
			switch {
			case at < time.Hour:
				return 200 * at.Seconds() / 3600
			case at < 90*time.Minute:
				return 200
			}
			return 0
		}}
	case "daily":
		s.Duration = 24 * time.Hour
		s.Load = &Rate{Fn: func(at time.Duration) float64 {
			h := at.Hours()
			return 50 + 45*math.Cos(2*math.Pi*(h-14)/24)
		}}
	case "stop":
		s.Duration = time.Hour
		s.Load = &Rate{Fn: func(at time.Duration) float64 {
			if at < 30*time.Minute {
				return 100
			}
			return 0
		}}
	case "steady":
		s.Duration = time.Hour
		s.Load = &Poisson{Seed: 1, Fn: func(at time.Duration) float64 { return quietAfter(at, 55*time.Minute, 100) }}
	case "bursts":
		s.Duration = time.Hour
		s.Load = &Bursts{Every: 10 * time.Minute, Size: 3000, Seed: 2}
	case "square":
		s.Duration = time.Hour
		s.Load = &Poisson{Seed: 3, Fn: func(at time.Duration) float64 {
			if at%(10*time.Minute) < 5*time.Minute {
				return 100
			}
			return 0
		}}
	case "drift":
		s.Duration = 2 * time.Hour
		s.Load = &Poisson{Seed: 4, Fn: func(at time.Duration) float64 {
			if at >= time.Hour && at < time.Hour+2*time.Minute {
				return 300
			}
			return quietAfter(at, 115*time.Minute, 20+60*at.Hours()/2)
		}}
	case "heavy":
		s.Duration = 2 * time.Hour
		s.Load = &Bursts{Mean: 5 * time.Minute, Size: 200, Cap: 20000, Alpha: 1.2, Until: 110 * time.Minute, Seed: 5}
	case "trickle":
		s.Duration = 2 * time.Hour
		s.Load = &Poisson{Seed: 6, Fn: func(at time.Duration) float64 { return quietAfter(at, 115*time.Minute, 1.0/180) }}
	default:
		return s, fmt.Errorf("unknown scenario %q (built-in: %s)", name, strings.Join(Scenarios, ", "))
	}
	return s, nil
}
