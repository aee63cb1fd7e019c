package policy

import (
	"fmt"
	"strings"
)

// Bounds limit the capacity. Min may be 0 (scale to zero).
type Bounds struct {
	Min, Max int
}

// Outcome is the combined decision of several policies.
type Outcome struct {
	// From is the capacity before, Desired the capacity decided.
	From    int `json:"from"`
	Desired int `json:"desired"`
	// Rule names what decided: "scale-out", "scale-in", "hold", "veto",
	// "wake", "in-flight", "min", "max".
	Rule      string     `json:"rule"`
	Reason    string     `json:"reason"`
	Proposals []Proposal `json:"proposals"`
	// Voters are the indexes of the proposals that asked for this change;
	// their states record it (Record) once it is applied.
	Voters []int `json:"-"`
}

// Direction of the outcome.
func (o Outcome) Direction() Direction { return DirectionOf(o.From, o.Desired) }

// Combine merges proposals made for in the way Application Auto Scaling merges
// several policies on one target: if any proposes more capacity, the largest
// proposal wins (scale out); only when every policy proposes less does the
// capacity fall, to the largest proposal (scale in); otherwise it holds.
// Abstaining proposals (step policies whose alarm is quiet) take no part.
// Then:
//   - wake from zero: at capacity 0 with a visible message, at least 1, and
//     ceil(visible / target) with the smallest backlog-per-worker target a
//     taking-part policy names (target tracking alone never leaves zero);
//   - never to zero while messages are in flight (the last worker is busy);
//   - clamp to b.Min..b.Max.
func Combine(in Input, props []Proposal, b Bounds) Outcome {
	c := in.Capacity
	o := Outcome{From: c, Desired: c, Rule: "hold", Proposals: props}
	best, bestI := -1, -1
	active := 0
	allIn := true
	for i, p := range props {
		if p.Abstain {
			continue
		}
		active++
		if p.Desired > best {
			best, bestI = p.Desired, i
		}
		if p.Desired >= c {
			allIn = false
		}
	}
	allIn = allIn && active > 0
	switch {
	case best > c:
		o.Desired, o.Rule = best, "scale-out"
		o.Reason = fmt.Sprintf("%s asks %d -> %d (%s): %s", props[bestI].Policy, c, best, props[bestI].Rule, props[bestI].Reason)
		for i, p := range props {
			if p.Desired > c {
				o.Voters = append(o.Voters, i)
			}
		}
	case allIn:
		o.Desired, o.Rule = best, "scale-in"
		o.Reason = fmt.Sprintf("all policies agree to scale in; the largest, %s, asks %d -> %d (%s): %s", props[bestI].Policy, c, best, props[bestI].Rule, props[bestI].Reason)
		for i, p := range props {
			if !p.Abstain {
				o.Voters = append(o.Voters, i)
			}
		}
	case active == 0:
		o.Reason = "no policy takes part"
		var quiet []string
		for _, p := range props {
			quiet = append(quiet, fmt.Sprintf("%s (%s: %s)", p.Policy, p.Rule, p.Reason))
		}
		if len(quiet) > 0 {
			o.Reason += ": " + strings.Join(quiet, "; ")
		}
	default:
		var holds, ins []string
		for _, p := range props {
			if p.Abstain {
				continue
			}
			if p.Desired < c {
				ins = append(ins, fmt.Sprintf("%s asks %d", p.Policy, p.Desired))
			} else {
				holds = append(holds, fmt.Sprintf("%s holds (%s: %s)", p.Policy, p.Rule, p.Reason))
			}
		}
		if len(ins) > 0 {
			o.Rule = "veto"
			o.Reason = fmt.Sprintf("scale-in needs every policy: %s, but %s", strings.Join(ins, ", "), strings.Join(holds, "; "))
		} else {
			o.Reason = strings.Join(holds, "; ")
		}
	}
	if c == 0 && in.Visible > 0 && o.Desired < 1 {
		// Size the fleet at once where a policy names a backlog per
		// worker: with nothing running, the backlog needs
		// ceil(visible / target) workers, and starting one to learn that
		// a tick later only delays the rest.
		o.Desired, o.Rule = 1, "wake"
		target := 0.0
		for _, p := range props {
			if !p.Abstain && p.Target > 0 && (target == 0 || p.Target < target) {
				target = p.Target
			}
		}
		sized := ""
		if target > 0 {
			o.Desired = max(1, ceil(float64(in.Visible)/target))
			sized = fmt.Sprintf(": ceil(%d / target %.4g) = %d workers", in.Visible, target, o.Desired)
		}
		// The policies, which hold at zero, are in the proposals; repeating
		// why they hold would contradict the wake.
		o.Reason = fmt.Sprintf("wake from zero: %d visible messages and no capacity%s", in.Visible, sized)
		o.Voters = nil
		for i := range props {
			o.Voters = append(o.Voters, i)
		}
	}
	if o.Desired == 0 && c > 0 && in.InFlight > 0 {
		o.Desired, o.Rule = 1, "in-flight"
		o.Reason = fmt.Sprintf("would scale to zero, but %d messages are in flight: keeping 1 worker (%s)", in.InFlight, o.Reason)
	}
	if o.Desired < b.Min {
		o.Reason = fmt.Sprintf("%d is below the minimum %d (%s)", o.Desired, b.Min, o.Reason)
		o.Desired, o.Rule = b.Min, "min"
	}
	if o.Desired > b.Max {
		o.Reason = fmt.Sprintf("%d is above the maximum %d (%s)", o.Desired, b.Max, o.Reason)
		o.Desired, o.Rule = b.Max, "max"
	}
	if o.Desired == c && len(o.Voters) > 0 && (o.Rule == "min" || o.Rule == "max" || o.Rule == "in-flight") {
		o.Voters = nil
	}
	return o
}

// Set is a group of policies with their states: the stateful wrapper the
// controller and the simulator use. It is not safe for concurrent use.
type Set struct {
	Policies []Policy
	States   []State
	Bounds   Bounds
}

// NewSet returns a Set of ps within b.
func NewSet(b Bounds, ps ...Policy) *Set {
	return &Set{Policies: ps, States: make([]State, len(ps)), Bounds: b}
}

// Decide asks every policy, combines the proposals and returns the outcome
// together with the states that follow. It does not store them: call Commit
// once the outcome was applied, or failed to be.
func (s *Set) Decide(in Input) (Outcome, []State) {
	props := make([]Proposal, len(s.Policies))
	next := make([]State, len(s.Policies))
	for i, p := range s.Policies {
		props[i], next[i] = p.Decide(in, s.States[i])
	}
	return Combine(in, props, s.Bounds), next
}

// Commit stores next; when applied, it records the change o in the policies
// that asked for it, starting their cooldowns.
func (s *Set) Commit(in Input, o Outcome, next []State, applied bool) {
	if applied {
		for _, i := range o.Voters {
			next[i] = next[i].Record(in.Now, o.From, o.Desired)
		}
	}
	copy(s.States, next)
}
