package sim

import (
	"bufio"
	"fmt"
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

// Burst is n messages at once, at At (the seeds' test: 10,000 messages).
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
}

// Scenarios lists the built-in scenarios by name.
var Scenarios = []string{"burst", "ramp", "daily", "stop"}

// Builtin returns a built-in scenario with the seeds' numbers:
//   - burst: 10,000 messages at once after 10 s (seed 003's test), 20 min;
//   - ramp: 0 to 200 msg/s over an hour, held for 30 min, then 30 min quiet;
//   - daily: 24 h of a daily cycle between 5 and 95 msg/s, peak at 14:00;
//   - stop: 100 msg/s for 30 min, then nothing for 30 min (sudden stop).
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
	default:
		return s, fmt.Errorf("unknown scenario %q (built-in: %s)", name, strings.Join(Scenarios, ", "))
	}
	return s, nil
}
