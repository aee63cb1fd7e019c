package policy

import (
	"os"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func ip(v int) *int                { return &v }
func fp(v float64) *float64        { return &v }
func dp(v time.Duration) *Duration { d := Duration(v); return &d }

// in builds an Input with capacity = running + starting.
func in(running, starting, visible int) Input {
	return Input{Now: t0, Capacity: running + starting, Running: running, Starting: starting, Visible: visible}
}

func TestSeed000ConfigLoadsAsItIs(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/seed000_config.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseTargetTracking(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.TargetValue != 100 || *c.ScaleOutCooldown != 60 || *c.ScaleInCooldown != 60 || c.CustomizedMetricSpecification["MetricName"] != "backlogpertask" {
		t.Fatalf("loaded %+v", c)
	}
	if _, err := ParseTargetTracking([]byte(`{"TargetValue": 100, "Bogus": 1}`)); err == nil || !strings.Contains(err.Error(), "Bogus") {
		t.Fatalf("unknown field: err = %v", err)
	}
	if _, err := ParseTargetTracking([]byte(`{"TargetValue": 0}`)); err == nil || !strings.Contains(err.Error(), "TargetValue: must be greater than 0") {
		t.Fatalf("zero target: err = %v", err)
	}
}

func TestTargetTracking(t *testing.T) {
	t.Parallel()
	cfg := TargetTrackingConfig{TargetValue: 100, ScaleOutCooldown: ip(60), ScaleInCooldown: ip(60)}
	tests := []struct {
		name     string
		cfg      func(*TargetTrackingConfig)
		in       Input
		st       State
		want     int
		wantRule string
	}{
		// AWS's SQS guide: 10 instances, 1,500 messages, target 100: out by 5.
		{name: "aws example", in: in(10, 0, 1500), want: 15, wantRule: "target-tracking"},
		{name: "at target holds", in: in(10, 0, 1000), want: 10, wantRule: "tolerance"},
		{name: "within tolerance holds", in: in(10, 0, 950), want: 10, wantRule: "tolerance"},
		{name: "below tolerance scales in with headroom", in: in(10, 0, 500), want: 6, wantRule: "target-tracking"},
		{name: "empty queue scales in to zero", in: in(10, 0, 0), want: 0, wantRule: "target-tracking"},
		{name: "zero capacity never leaves zero", in: in(0, 0, 1), want: 0, wantRule: "zero-capacity"},
		{name: "zero running counts backlog for one", in: in(0, 1, 1500), want: 15, wantRule: "target-tracking"},
		{name: "starting capacity covers", in: in(2, 8, 1000), want: 10, wantRule: "starting-capacity"},
		{name: "starting capacity short", in: in(2, 8, 1500), want: 15, wantRule: "target-tracking"},
		{name: "disable scale-in", cfg: func(c *TargetTrackingConfig) { c.DisableScaleIn = true }, in: in(10, 0, 0), want: 10, wantRule: "disable-scale-in"},
		{
			name: "scale-out cooldown blocks what the last scale-out added",
			in:   in(10, 5, 1500), st: State{LastOut: Activity{At: t0.Add(-30 * time.Second), From: 10, To: 15}},
			want: 15, wantRule: "starting-capacity",
		},
		{
			name: "scale-out cooldown: capacity set below the last scale-out",
			in:   in(12, 0, 1500), st: State{LastOut: Activity{At: t0.Add(-30 * time.Second), From: 10, To: 15}},
			want: 12, wantRule: "scale-out-cooldown",
		},
		{
			name: "scale-out cooldown allows capacity beyond the last one",
			in:   in(15, 0, 3000), st: State{LastOut: Activity{At: t0.Add(-30 * time.Second), From: 10, To: 15}},
			want: 30, wantRule: "target-tracking",
		},
		{
			name: "scale-out after the cooldown",
			in:   in(12, 0, 1500), st: State{LastOut: Activity{At: t0.Add(-60 * time.Second), From: 10, To: 15}},
			want: 15, wantRule: "target-tracking",
		},
		{
			name: "scale-in cooldown",
			in:   in(10, 0, 0), st: State{LastIn: Activity{At: t0.Add(-59 * time.Second), From: 12, To: 10}},
			want: 10, wantRule: "scale-in-cooldown",
		},
		{
			name: "default cooldown is 300s",
			cfg:  func(c *TargetTrackingConfig) { c.ScaleInCooldown = nil },
			in:   in(10, 0, 0), st: State{LastIn: Activity{At: t0.Add(-299 * time.Second), From: 12, To: 10}},
			want: 10, wantRule: "scale-in-cooldown",
		},
		{name: "scale-out datapoints", cfg: func(c *TargetTrackingConfig) { c.ScaleOutDatapoints = 3 }, in: in(10, 0, 1500), want: 10, wantRule: "collecting"},
		{
			name: "scale-out datapoints reached",
			cfg:  func(c *TargetTrackingConfig) { c.ScaleOutDatapoints = 3 },
			in:   in(10, 0, 1500), st: State{Datapoints: []float64{120, 130}},
			want: 15, wantRule: "target-tracking",
		},
		{
			name: "scale-out datapoints broken by one low",
			cfg:  func(c *TargetTrackingConfig) { c.ScaleOutDatapoints = 3 },
			in:   in(10, 0, 1500), st: State{Datapoints: []float64{120, 90}},
			want: 10, wantRule: "collecting",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			p, err := NewTargetTracking("tt", c)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := p.Decide(tc.in, tc.st)
			if got.Desired != tc.want || got.Rule != tc.wantRule {
				t.Fatalf("got %d (%s: %s), want %d (%s)", got.Desired, got.Rule, got.Reason, tc.want, tc.wantRule)
			}
			if got.Reason == "" {
				t.Fatal("no reason given")
			}
		})
	}
}

func TestTargetTrackingMetricPeriod(t *testing.T) {
	t.Parallel()
	p, err := NewTargetTracking("tt", TargetTrackingConfig{TargetValue: 100, MetricPeriod: 60, ScaleOutDatapoints: 3})
	if err != nil {
		t.Fatal(err)
	}
	var st State
	var prop Proposal
	first := -1
	for s := 0; s <= 240; s++ {
		x := in(10, 0, 1500)
		x.Now = t0.Add(time.Duration(s) * time.Second)
		prop, st = p.Decide(x, st)
		if prop.Desired != 10 && first < 0 {
			first = s
		}
	}
	// Three one-minute datapoints complete at 60, 120 and 180 s.
	if first != 180 {
		t.Fatalf("first scale-out at %d s, want 180 (3 one-minute datapoints)", first)
	}
}

// seed001 returns the two CDK scaleOnMetric policies of seed 001.
func seed001(t *testing.T) []Policy {
	t.Helper()
	initial := MetricSteps{
		MetricName: MetricVisible, AdjustmentType: ChangeInCapacity, EvaluationPeriods: 1, Cooldown: 60,
		Steps: []ScalingStep{{Upper: fp(0), Change: -1}, {Lower: fp(1), Change: 1}, {Lower: fp(5), Change: 3}, {Lower: fp(10), Change: 5}},
	}
	high := MetricSteps{
		MetricName: MetricVisible, AdjustmentType: PercentChangeInCapacity, Cooldown: 60,
		Steps: []ScalingStep{{Upper: fp(10), Change: -10}, {Lower: fp(15), Change: 67}},
	}
	var ps []Policy
	for _, ms := range []struct {
		name string
		m    MetricSteps
	}{{"initial", initial}, {"high", high}} {
		names, specs, err := ms.m.Specs()
		if err != nil {
			t.Fatal(err)
		}
		for i := range specs {
			p, err := NewStepScaling(ms.name+"/"+names[i], specs[i])
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
	}
	return ps
}

func TestMetricStepsLikeCDK(t *testing.T) {
	t.Parallel()
	ps := seed001(t)
	if len(ps) != 4 {
		t.Fatalf("%d policies, want 4", len(ps))
	}
	lo := ps[0].(*StepScaling).Spec()
	up := ps[1].(*StepScaling).Spec()
	if lo.Alarm.Threshold != 0 || lo.Alarm.ComparisonOperator != LessThanOrEqualToThreshold ||
		len(lo.Configuration.StepAdjustments) != 1 || lo.Configuration.StepAdjustments[0].MetricIntervalLowerBound != nil ||
		*lo.Configuration.StepAdjustments[0].MetricIntervalUpperBound != 0 {
		t.Fatalf("lower policy %+v", lo)
	}
	want := [][3]float64{{0, 4, 1}, {4, 9, 3}, {9, -1, 5}}
	if up.Alarm.Threshold != 1 || up.Alarm.ComparisonOperator != GreaterThanOrEqualToThreshold || len(up.Configuration.StepAdjustments) != 3 {
		t.Fatalf("upper policy %+v", up)
	}
	for i, s := range up.Configuration.StepAdjustments {
		hi := -1.0
		if s.MetricIntervalUpperBound != nil {
			hi = *s.MetricIntervalUpperBound
		}
		if *s.MetricIntervalLowerBound != want[i][0] || hi != want[i][1] || float64(s.ScalingAdjustment) != want[i][2] {
			t.Fatalf("step %d = %v..%v %+d", i, *s.MetricIntervalLowerBound, hi, s.ScalingAdjustment)
		}
	}
	hl := ps[2].(*StepScaling).Spec()
	hu := ps[3].(*StepScaling).Spec()
	if hl.Alarm.Threshold != 10 || hu.Alarm.Threshold != 15 {
		t.Fatalf("percent policy thresholds %v, %v; want 10 and 15", hl.Alarm.Threshold, hu.Alarm.Threshold)
	}
}

func TestStepScalingSeed001(t *testing.T) {
	t.Parallel()
	ps := seed001(t)
	tests := []struct {
		policy   int
		capacity int
		visible  int
		want     int
		rule     string
	}{
		{policy: 0, capacity: 3, visible: 0, want: 2, rule: "step[0]"},    // {upper:0, -1}
		{policy: 0, capacity: 3, visible: 1, want: 3, rule: "alarm-ok"},   // lower alarm quiet
		{policy: 1, capacity: 0, visible: 1, want: 1, rule: "step[0]"},    // {lower:1, +1}: wakes from zero
		{policy: 1, capacity: 2, visible: 4, want: 3, rule: "step[0]"},    // 4 is still in [1,5)
		{policy: 1, capacity: 2, visible: 5, want: 5, rule: "step[1]"},    // {lower:5, +3}
		{policy: 1, capacity: 2, visible: 12, want: 7, rule: "step[2]"},   // {lower:10, +5}
		{policy: 1, capacity: 2, visible: 0, want: 2, rule: "alarm-ok"},   // upper alarm quiet
		{policy: 3, capacity: 10, visible: 20, want: 16, rule: "step[0]"}, // +67% of 10 = 6.7 -> 6
		{policy: 3, capacity: 1, visible: 15, want: 2, rule: "step[0]"},   // +0.67 rounds to +1
		{policy: 3, capacity: 0, visible: 100, want: 0, rule: "step[0]"},  // a percentage of zero is zero
		{policy: 3, capacity: 10, visible: 14, want: 10, rule: "alarm-ok"},
		{policy: 2, capacity: 10, visible: 10, want: 9, rule: "step[0]"}, // -10% of 10
		{policy: 2, capacity: 5, visible: 3, want: 4, rule: "step[0]"},   // -0.5 rounds to -1
		{policy: 2, capacity: 25, visible: 3, want: 23, rule: "step[0]"}, // -2.5 rounds toward zero to -2
	}
	for _, tc := range tests {
		x := in(tc.capacity, 0, tc.visible)
		got, _ := ps[tc.policy].Decide(x, State{})
		if got.Desired != tc.want || got.Rule != tc.rule {
			t.Errorf("%s capacity %d visible %d: got %d (%s: %s), want %d (%s)", ps[tc.policy].Name(), tc.capacity, tc.visible, got.Desired, got.Rule, got.Reason, tc.want, tc.rule)
		}
	}
}

func TestStepScalingSemantics(t *testing.T) {
	t.Parallel()
	mk := func(t *testing.T, typ string, mma int, steps ...StepAdjustment) *StepScaling {
		p, err := NewStepScaling("s", StepScalingSpec{
			Alarm:         Alarm{Threshold: 100, ComparisonOperator: GreaterThanOrEqualToThreshold},
			Configuration: StepScalingConfig{AdjustmentType: typ, StepAdjustments: steps, MinAdjustmentMagnitude: mma, Cooldown: 60},
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("min adjustment magnitude", func(t *testing.T) {
		t.Parallel()
		p := mk(t, PercentChangeInCapacity, 3, StepAdjustment{MetricIntervalLowerBound: fp(0), ScalingAdjustment: 10})
		if got, _ := p.Decide(in(2, 0, 150), State{}); got.Desired != 5 {
			t.Fatalf("+10%% of 2 with MinAdjustmentMagnitude 3 = %d, want 5 (%s)", got.Desired, got.Reason)
		}
	})
	t.Run("exact capacity", func(t *testing.T) {
		t.Parallel()
		p := mk(t, ExactCapacity, 0, StepAdjustment{MetricIntervalLowerBound: fp(0), ScalingAdjustment: 7})
		if got, _ := p.Decide(in(2, 0, 150), State{}); got.Desired != 7 {
			t.Fatalf("ExactCapacity 7 gave %d", got.Desired)
		}
	})
	t.Run("bounds: lower inclusive above the threshold", func(t *testing.T) {
		t.Parallel()
		p := mk(t, ChangeInCapacity, 0,
			StepAdjustment{MetricIntervalLowerBound: fp(0), MetricIntervalUpperBound: fp(50), ScalingAdjustment: 1},
			StepAdjustment{MetricIntervalLowerBound: fp(50), ScalingAdjustment: 4})
		if got, _ := p.Decide(in(2, 0, 150), State{}); got.Desired != 6 {
			t.Fatalf("metric 150 = threshold + 50 took %d, want step 2 (+4 -> 6)", got.Desired)
		}
		if got, _ := p.Decide(in(2, 0, 100), State{}); got.Desired != 3 {
			t.Fatalf("metric at the threshold took %d, want step 1 (+1 -> 3)", got.Desired)
		}
	})
	t.Run("cooldown adds only beyond the last scale-out", func(t *testing.T) {
		t.Parallel()
		p := mk(t, ChangeInCapacity, 0,
			StepAdjustment{MetricIntervalLowerBound: fp(0), MetricIntervalUpperBound: fp(50), ScalingAdjustment: 2},
			StepAdjustment{MetricIntervalLowerBound: fp(50), ScalingAdjustment: 3})
		st := State{LastOut: Activity{At: t0.Add(-10 * time.Second), From: 2, To: 4}}
		if got, _ := p.Decide(in(4, 0, 120), st); got.Desired != 4 || got.Rule != "scale-out-cooldown" {
			t.Fatalf("+2 again in cooldown gave %d (%s)", got.Desired, got.Rule)
		}
		if got, _ := p.Decide(in(4, 0, 160), st); got.Desired != 5 {
			t.Fatalf("+3 in the cooldown of +2 gave %d, want 5 (one beyond): %s", got.Desired, got.Reason)
		}
		st.LastOut.At = t0.Add(-60 * time.Second)
		if got, _ := p.Decide(in(4, 0, 120), st); got.Desired != 6 {
			t.Fatalf("+2 after the cooldown gave %d, want 6", got.Desired)
		}
	})
	t.Run("evaluation periods and datapoints to alarm", func(t *testing.T) {
		t.Parallel()
		p, err := NewStepScaling("s", StepScalingSpec{
			Alarm:         Alarm{Threshold: 100, ComparisonOperator: GreaterThanThreshold, EvaluationPeriods: 3, DatapointsToAlarm: 2},
			Configuration: StepScalingConfig{AdjustmentType: ChangeInCapacity, StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: fp(0), ScalingAdjustment: 1}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var st State
		var got Proposal
		for i, v := range []int{150, 50, 150} {
			got, st = p.Decide(in(1, 0, v), st)
			if want := map[int]int{0: 1, 1: 1, 2: 2}[i]; got.Desired != want {
				t.Fatalf("datapoint %d: %d (%s), want %d", i, got.Desired, got.Reason, want)
			}
		}
	})
}

func TestStepScalingValidation(t *testing.T) {
	t.Parallel()
	err := StepScalingSpec{
		Alarm: Alarm{MetricName: "Nope", Threshold: 1},
		Configuration: StepScalingConfig{AdjustmentType: "Double", StepAdjustments: []StepAdjustment{
			{MetricIntervalLowerBound: fp(0), ScalingAdjustment: 1}, {MetricIntervalLowerBound: fp(5), ScalingAdjustment: 2},
		}},
	}.Validate()
	for _, want := range []string{
		`Alarm.MetricName: unknown metric "Nope"`,
		"Alarm.ComparisonOperator: is required",
		`StepScalingPolicyConfiguration.AdjustmentType: unknown adjustment type "Double"`,
		"StepScalingPolicyConfiguration.StepAdjustments[1]: overlaps StepAdjustments[0]",
		"only one step may omit MetricIntervalUpperBound",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	if _, err := ParseStepScaling([]byte(`{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}],"Cooldown":60,"MetricAggregationType":"Average"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	p, err := NewLatency("slo", LatencyConfig{AcceptableWait: Duration(10 * time.Second), ScaleInCooldown: dp(0), ScaleInStable: dp(0)})
	if err != nil {
		t.Fatal(err)
	}
	// No measurement yet: 10 s / (10 s / 100) = 100, AWS's example.
	got, st := p.Decide(in(10, 0, 1500), State{})
	if got.Desired != 15 || got.Target != 100 {
		t.Fatalf("before measurement: %d target %v (%s)", got.Desired, got.Target, got.Reason)
	}
	// Measured 0.1 s per message: still 100.
	x := in(10, 0, 1500)
	x.ProcessingTime = 100 * time.Millisecond
	got, st = p.Decide(x, st)
	if got.Target != 100 || got.Desired != 15 {
		t.Fatalf("0.1 s: target %v desired %d", got.Target, got.Desired)
	}
	// Processing slows to 0.2 s: target drifts toward 50.
	x.ProcessingTime = 200 * time.Millisecond
	for range 30 {
		got, st = p.Decide(x, st)
	}
	if got.Target > 51 || got.Target < 49.9 {
		t.Fatalf("after drift to 0.2 s: target %v, want ~50", got.Target)
	}
	if got.Desired != 30 {
		t.Fatalf("1500 at target 50 = %d, want 30", got.Desired)
	}
	// Keeping pace: 100 msg/s at 0.2 s needs 100×0.2/0.9 = 22.2 -> 23 workers,
	// even with an empty queue.
	y := in(30, 0, 0)
	y.ArrivalRate, y.ProcessingTime = 100, 200*time.Millisecond
	got, _ = p.Decide(y, st)
	if got.Desired != 23 {
		t.Fatalf("keep-pace floor: %d (%s), want 23", got.Desired, got.Reason)
	}
	if err := (LatencyConfig{}).Validate(); err == nil || !strings.Contains(err.Error(), "acceptableWait") {
		t.Fatalf("empty config: %v", err)
	}
}

func TestCombine(t *testing.T) {
	t.Parallel()
	pr := func(name string, d int) Proposal { return Proposal{Policy: name, Desired: d, Rule: "r", Reason: "why"} }
	b := Bounds{Min: 0, Max: 20}
	tests := []struct {
		name  string
		in    Input
		props []Proposal
		b     Bounds
		want  int
		rule  string
	}{
		{"any may scale out, largest wins", in(10, 0, 0), []Proposal{pr("a", 12), pr("b", 8), pr("c", 15)}, b, 15, "scale-out"},
		{"scale in when all agree, largest wins", in(10, 0, 0), []Proposal{pr("a", 6), pr("b", 8)}, b, 8, "scale-in"},
		{"one holding vetoes scale-in", in(10, 0, 0), []Proposal{pr("a", 6), pr("b", 10)}, b, 10, "veto"},
		{"max bound", in(10, 0, 0), []Proposal{pr("a", 40)}, b, 20, "max"},
		{"min bound", in(10, 0, 0), []Proposal{pr("a", 0)}, Bounds{Min: 2, Max: 20}, 2, "min"},
		{"wake from zero", in(0, 0, 1), []Proposal{pr("a", 0)}, b, 1, "wake"},
		{"wake sized by the smallest target", in(0, 0, 1500), []Proposal{
			{Policy: "a", Rule: "zero-capacity", Reason: "r", Target: 100},
			{Policy: "b", Rule: "zero-capacity", Reason: "r", Target: 300},
			{Policy: "quiet", Rule: "alarm-ok", Reason: "r", Target: 10, Abstain: true},
		}, b, 15, "wake"},
		{"wake sized, then bounded", in(0, 0, 5000), []Proposal{{Policy: "a", Rule: "zero-capacity", Reason: "r", Target: 100}}, b, 20, "max"},
		{"wake sized, at least 1", in(0, 0, 3), []Proposal{{Policy: "a", Rule: "zero-capacity", Reason: "r", Target: 100}}, b, 1, "wake"},
		{"stay at zero when empty", in(0, 0, 0), []Proposal{pr("a", 0)}, b, 0, "hold"},
		{"not to zero while in flight", Input{Capacity: 3, Running: 3, InFlight: 2}, []Proposal{pr("a", 0)}, b, 1, "in-flight"},
		{"to zero when drained", in(3, 0, 0), []Proposal{pr("a", 0)}, b, 0, "scale-in"},
	}
	for _, tc := range tests {
		o := Combine(tc.in, tc.props, tc.b)
		if o.Desired != tc.want || o.Rule != tc.rule || o.Reason == "" {
			t.Errorf("%s: got %d (%s: %s), want %d (%s)", tc.name, o.Desired, o.Rule, o.Reason, tc.want, tc.rule)
		}
	}
}

// Seed 001's pair of CDK policies on one fleet: quiet alarms abstain, so the
// firing scale-in alarms are enough to scale in, and the largest wins.
func TestSeed001PairCombined(t *testing.T) {
	t.Parallel()
	set := NewSet(Bounds{Min: 0, Max: 50}, seed001(t)...)
	tests := []struct {
		capacity, visible, want int
		rule                    string
	}{
		{capacity: 0, visible: 0, want: 0, rule: "hold"},
		{capacity: 0, visible: 3, want: 1, rule: "scale-out"},    // +1 wakes from zero
		{capacity: 2, visible: 12, want: 7, rule: "scale-out"},   // +5 beats +67% of 2 = +1
		{capacity: 10, visible: 40, want: 16, rule: "scale-out"}, // +67% of 10 = +6 beats +5
		{capacity: 3, visible: 0, want: 2, rule: "scale-in"},     // -1 and -10% (-0.3 -> -1)
		{capacity: 30, visible: 0, want: 29, rule: "scale-in"},   // -1 beats -10% (-3): the largest capacity wins
		{capacity: 30, visible: 5, want: 33, rule: "scale-out"},  // initial/upper +3 wins over high/lower -10%
	}
	for _, tc := range tests {
		x := in(tc.capacity, 0, tc.visible)
		o, _ := set.Decide(x)
		if o.Desired != tc.want || o.Rule != tc.rule {
			t.Errorf("capacity %d visible %d: %d (%s: %s), want %d (%s)", tc.capacity, tc.visible, o.Desired, o.Rule, o.Reason, tc.want, tc.rule)
		}
	}
}
