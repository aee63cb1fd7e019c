// Package policy holds qscale's scaling policies. Each policy is a pure
// function of (current capacity, observation, configuration, time, the
// policy's own remembered state) to a proposal with an explanation: no I/O and
// no clock of its own. The live controller and the simulator call the very same
// code, and Combine merges several proposals the way Application Auto Scaling
// does: any policy may scale out, scale in only when all agree, the largest
// capacity wins.
package policy

import (
	"fmt"
	"math"
	"time"
)

// Input is what a policy sees at one evaluation: the fleet's capacity and the
// queue's state, read at Now.
type Input struct {
	Now time.Time
	// Capacity is the capacity the fleet is working towards: running plus
	// starting workers. Scaling decisions move it.
	Capacity int
	// Running workers are ready and taking messages; Starting ones were asked
	// for but are not ready yet. Starting capacity counts toward Capacity so a
	// slow-booting fleet is not asked for the same workers again and again.
	Running  int
	Starting int
	// Queue counts: ApproximateNumberOfMessages (Visible),
	// ApproximateNumberOfMessagesNotVisible (InFlight) and
	// ApproximateNumberOfMessagesDelayed (Delayed).
	Visible  int
	InFlight int
	Delayed  int
	// OldestAge is the age of the oldest message, 0 when unknown.
	OldestAge time.Duration
	// ArrivalRate and CompletionRate are messages per second, 0 when unknown.
	ArrivalRate    float64
	CompletionRate float64
	// ProcessingTime is the measured mean time one worker spends on one
	// message, 0 when unknown.
	ProcessingTime time.Duration
	// StartupTime is how long the fleet takes from a raised desired count
	// to a running worker, as the controller measured it (0 when not yet
	// measured).
	StartupTime time.Duration
}

// BacklogPerWorker is visible messages / running workers, or the visible count
// when no worker runs (the rule of AWS's SQS scaling guide).
func (in Input) BacklogPerWorker() float64 {
	if in.Running <= 0 {
		return float64(in.Visible)
	}
	return float64(in.Visible) / float64(in.Running)
}

// metricBase is the capacity a backlog-per-worker value describes: the
// running workers, or one when none runs (the metric is then the whole
// backlog).
func (in Input) metricBase() int {
	if in.Running > 0 {
		return in.Running
	}
	return 1
}

// Proposal is one policy's answer for one evaluation.
type Proposal struct {
	Policy string `json:"policy"`
	// Desired is the capacity the policy asks for. A policy that holds
	// proposes the current capacity.
	Desired int `json:"desired"`
	// Rule names what decided: "target-tracking", "step", "latency",
	// "scale-out-cooldown", "scale-in-cooldown", "tolerance",
	// "disable-scale-in", "alarm-ok", "collecting", "zero-capacity",
	// "no-step".
	Rule string `json:"rule"`
	// Reason explains the proposal in a sentence, with the numbers used.
	Reason string `json:"reason"`
	// Abstain marks a proposal that takes no part in the decision: a step
	// scaling policy whose alarm is not firing (or whose change is blocked
	// by its scale-in cooldown) neither scales nor vetoes a scale-in, as
	// with CloudWatch alarms in AWS. Desired is then the current capacity.
	Abstain bool `json:"abstain,omitempty"`
	// Metric and Target are the values compared, where the policy has them.
	Metric float64 `json:"metric"`
	Target float64 `json:"target,omitempty"`
}

// Direction of a change in capacity.
type Direction int

// Directions.
const (
	Hold Direction = iota
	Out
	In
)

func (d Direction) String() string {
	switch d {
	case Out:
		return "out"
	case In:
		return "in"
	}
	return "hold"
}

// DirectionOf reports whether going from capacity from to capacity to is a
// scale-out, a scale-in or no change.
func DirectionOf(from, to int) Direction {
	switch {
	case to > from:
		return Out
	case to < from:
		return In
	}
	return Hold
}

// Activity is one applied change of capacity.
type Activity struct {
	At       time.Time `json:"at"`
	From, To int
}

// State is what a policy remembers between evaluations. Policies receive it
// and return the next one; the caller stores it. Decide never modifies the
// State it is given (its slices are copied before they change), so a caller
// may keep old states.
type State struct {
	// LastOut and LastIn are this policy's last applied scale-out and
	// scale-in. The caller records them with Record once a change is applied.
	LastOut Activity
	LastIn  Activity

	// Metric aggregation into datapoints of one period (see MetricPeriod in
	// the policies): the period being filled and the datapoints completed,
	// most recent last.
	periodStart time.Time
	periodSum   float64
	periodMin   float64
	periodMax   float64
	periodN     int
	Datapoints  []float64

	// BelowSince is when the metric last fell below the scale-in
	// threshold of a policy that asks it to stay there a while.
	BelowSince time.Time

	// ProcessingTime is the latency policy's smoothed processing time in
	// seconds, 0 before the first measurement.
	ProcessingTime float64

	// Queueing is the queueing policy's memory.
	Queueing QueueingState
}

// Record returns st with an applied change from..to at time at remembered,
// starting the matching cooldown. A scale-out also ends a scale-in cooldown,
// as in Application Auto Scaling.
func (st State) Record(at time.Time, from, to int) State {
	switch DirectionOf(from, to) {
	case Out:
		st.LastOut = Activity{At: at, From: from, To: to}
		st.LastIn = Activity{}
	case In:
		st.LastIn = Activity{At: at, From: from, To: to}
	}
	return st
}

// Policy is a scaling policy.
type Policy interface {
	// Name identifies the policy in decisions and logs.
	Name() string
	// Decide proposes a capacity for in, given the state the previous call
	// returned (the zero State at first), and returns the next state.
	Decide(in Input, st State) (Proposal, State)
}

// Aggregation of the samples of one metric period into a datapoint.
type Aggregation string

// Aggregations, as CloudWatch names the statistics.
const (
	Average Aggregation = "Average"
	Minimum Aggregation = "Minimum"
	Maximum Aggregation = "Maximum"
)

// sample adds the value v seen at now to the metric. With period 0 every
// evaluation is a datapoint. Otherwise samples are aggregated per period: the
// first sample at or after a period's end completes that period's datapoint
// and opens the next period. It reports whether a datapoint completed. At most
// keep datapoints are remembered.
func (st State) sample(now time.Time, v float64, period time.Duration, agg Aggregation, keep int) (State, bool) {
	if period <= 0 {
		return st.push(v, keep), true
	}
	completed := false
	if st.periodN > 0 && now.Sub(st.periodStart) >= period {
		var dp float64
		switch agg {
		case Minimum:
			dp = st.periodMin
		case Maximum:
			dp = st.periodMax
		default:
			dp = st.periodSum / float64(st.periodN)
		}
		st = st.push(dp, keep)
		st.periodN, st.periodSum = 0, 0
		completed = true
	}
	if st.periodN == 0 {
		st.periodStart = now
		st.periodMin, st.periodMax = v, v
	}
	st.periodSum += v
	st.periodN++
	st.periodMin = math.Min(st.periodMin, v)
	st.periodMax = math.Max(st.periodMax, v)
	return st, completed
}

func (st State) push(v float64, keep int) State {
	keep = max(keep, 1)
	old := st.Datapoints
	if len(old) >= keep {
		old = old[len(old)-keep+1:]
	}
	dp := make([]float64, 0, len(old)+1)
	dp = append(dp, old...)
	st.Datapoints = append(dp, v)
	return st
}

// lastN reports how many of the last n datapoints satisfy ok, and whether n
// datapoints exist.
func (st State) lastN(n int, ok func(float64) bool) (count int, enough bool) {
	if len(st.Datapoints) < n {
		enough = false
	} else {
		enough = true
	}
	for _, v := range st.Datapoints[max(0, len(st.Datapoints)-n):] {
		if ok(v) {
			count++
		}
	}
	return count, enough
}

// ceil rounds x up, forgiving floating-point noise (15.000000001 is 15).
func ceil(x float64) int {
	if math.IsInf(x, 1) || x > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(math.Ceil(x - 1e-9))
}

func hold(name string, in Input, rule, format string, a ...any) Proposal {
	return Proposal{Policy: name, Desired: in.Capacity, Rule: rule, Reason: fmt.Sprintf(format, a...)}
}

func secs(d time.Duration) string { return d.Round(time.Millisecond).String() }
