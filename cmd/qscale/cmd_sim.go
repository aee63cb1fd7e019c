package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/sim"
	"github.com/qscale/qscale/config"
)

type simOptions struct {
	scenario   string
	trace      string
	duration   time.Duration
	processing string
	startup    time.Duration
	workers    int
	min, max   int
	objective  time.Duration
	mode       string
	config     string
	svg        string
	actions    bool
	seed       uint64
	awsCool    time.Duration
	alarmDelay time.Duration
	predict    bool
	schedule   []string
}

func runSim(ctx context.Context, args []string) error {
	var o simOptions
	fs := newFlags("sim", `Replays a load through the autoscaler's policies on a virtual clock, in
milliseconds, and compares qscale with an emulation of AWS target tracking and
with the cheapest clairvoyant schedule. See docs/benchmarks.md.`, "qscale sim [flags]")
	fs.group("Load")
	fs.StringVar(&o.scenario, "scenario", "burst", "built-in load: "+strings.Join(sim.Scenarios, ", "))
	fs.StringVar(&o.trace, "trace", "", "CSV trace of arrivals (second,count per line) to replay instead of a built-in load")
	fs.DurationVar(&o.duration, "duration", 0, "simulated time (default: the scenario's; a trace's length plus 10m)")
	fs.StringVar(&o.processing, "processing", "const:100ms", "processing time per message: const:D, exp:MEAN or uniform:MIN-MAX")
	fs.group("Fleet")
	fs.DurationVar(&o.startup, "startup", 30*time.Second, "worker start-up delay")
	fs.IntVar(&o.workers, "workers", 0, "workers running at the start")
	fs.IntVar(&o.min, "min", -1, "minimum workers (default 0, or the config's)")
	fs.IntVar(&o.max, "max", -1, "maximum workers (default 50, or the config's)")
	fs.group("Policy")
	fs.DurationVar(&o.objective, "objective", 10*time.Second, "acceptable wait: the latency objective's target and the report's threshold")
	fs.StringVar(&o.mode, "mode", "both", "qscale, aws (Application Auto Scaling emulation: one snapshot a minute, 3/15 datapoints) or both")
	fs.StringVar(&o.config, "config", "", "autoscaler config file whose policies and bounds qscale mode uses (default: the queueing policy)")
	fs.group("Output")
	fs.StringVar(&o.svg, "svg", "sim.svg", "chart file to write (in both mode, qscale and AWS on one time axis); empty for none")
	fs.BoolVar(&o.actions, "actions", false, "list every scaling action")
	fs.group("Simulation")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed for processing times")
	fs.DurationVar(&o.awsCool, "aws-cooldown", 60*time.Second, "ScaleOutCooldown and ScaleInCooldown in aws mode")
	fs.BoolVar(&o.predict, "predict", false, "qscale mode learns recurring load and starts workers a start-up ahead of it")
	fs.Func("schedule", "a scheduled window for qscale mode, NAME;CRON;DURATION;MIN[;MAX] (MIN or MAX may be -), e.g. 'batch;9-59/10 * * * *;2m;36' (the run starts at 00:00 UTC plus the start-up); repeatable", func(v string) error {
		o.schedule = append(o.schedule, v)
		return nil
	})
	fs.DurationVar(&o.alarmDelay, "aws-alarm-delay", sim.DefaultAlarmDelay, "in aws mode, how long after its minute a published datapoint reaches the alarm")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var modes []sim.Mode
	switch o.mode {
	case "qscale":
		modes = []sim.Mode{sim.QScale}
	case "aws":
		modes = []sim.Mode{sim.AWS}
	case "both":
		modes = []sim.Mode{sim.QScale, sim.AWS}
	default:
		return usagef("--mode must be qscale, aws or both, not %q", o.mode)
	}
	dist, err := sim.ParseDist(o.processing)
	if err != nil {
		return usagef("--processing: %v", err)
	}
	if o.startup < 0 || o.workers < 0 || o.objective <= 0 || o.duration < 0 || o.alarmDelay <= 0 {
		return usagef("--startup, --workers and --duration must not be negative; --objective and --aws-alarm-delay must be positive")
	}
	bounds := policy.Bounds{Min: 0, Max: 50}
	var policies []policy.Policy
	var fileSchedule autoscale.Schedule
	if o.config != "" {
		cfg, err := config.Load(o.config, config.ForAutoscale)
		if err != nil {
			return err
		}
		f := cfg.Fleets[0]
		if policies, err = f.BuildPolicies(); err != nil {
			return err
		}
		if fileSchedule, err = f.BuildSchedule(); err != nil {
			return err
		}
		o.predict = o.predict || f.Predict != nil
		bounds = f.Bounds()
	}
	if o.min >= 0 {
		bounds.Min = o.min
	}
	if o.max >= 0 {
		bounds.Max = o.max
	}
	if bounds.Max < 1 || bounds.Min > bounds.Max {
		return usagef("bounds %d..%d: need max >= 1 and min <= max", bounds.Min, bounds.Max)
	}
	schedule := fileSchedule
	for _, v := range o.schedule {
		a, err := parseSimSchedule(v)
		if err != nil {
			return usagef("-schedule %q: %v", v, err)
		}
		schedule = append(schedule, a)
	}
	if err := schedule.Validate(); err != nil {
		return usagef("%v", err)
	}
	newScenario := func() (sim.Scenario, error) {
		var sc sim.Scenario
		if o.trace != "" {
			f, err := os.Open(o.trace)
			if err != nil {
				return sc, err
			}
			defer f.Close()
			tr, err := sim.ReadTrace(f)
			if err != nil {
				return sc, fmt.Errorf("%s: %w", o.trace, err)
			}
			sc = sim.Scenario{Name: "trace " + o.trace, Load: tr, Duration: time.Duration(len(tr.PerSecond))*time.Second + 10*time.Minute}
		} else {
			if sc, err = sim.Builtin(o.scenario); err != nil {
				return sc, usagef("--scenario: %v", err)
			}
		}
		if o.duration > 0 {
			sc.Duration = o.duration
		}
		sc.Processing, sc.StartupDelay, sc.InitialWorkers = dist, o.startup, o.workers
		return sc, nil
	}
	var results []*sim.Result
	for _, m := range modes {
		sc, err := newScenario() // loads keep state: one per run
		if err != nil {
			return err
		}
		r, err := sim.Run(ctx, sim.Options{
			Scenario: sc, Mode: m, Policies: policies, Bounds: bounds, Objective: o.objective,
			AWSCooldown: o.awsCool, AlarmDelay: o.alarmDelay, Seed: o.seed, KeepTimeline: o.svg != "",
			Schedule: schedule, Predict: o.predict,
		})
		if err != nil {
			return err
		}
		results = append(results, r)
		if err := r.WriteReport(os.Stdout, o.actions); err != nil {
			return err
		}
		fmt.Println()
	}
	if o.svg != "" {
		if err := writeFile(o.svg, func(w io.Writer) error { return sim.WriteChart(w, results...) }); err != nil {
			return err
		}
		fmt.Printf("chart      %s\n", o.svg)
	}
	if len(results) == 2 {
		q, a := results[0], results[1]
		fmt.Printf("qscale vs AWS vs oracle: p99 wait %s vs %s, %.2f vs %.2f vs %.2f worker-hours (%.2fx vs %.2fx the oracle's), reversals %d vs %d, first scale-out after %s vs %s\n",
			q.WaitP99, a.WaitP99, q.WorkerSeconds/3600, a.WorkerSeconds/3600, q.Oracle.WorkerSeconds/3600, q.OracleRatio(), a.OracleRatio(),
			q.Reversals, a.Reversals, q.FirstScaleOut, a.FirstScaleOut)
	}
	return nil
}

// parseSimSchedule reads -schedule's NAME;CRON;DURATION;MIN[;MAX].
func parseSimSchedule(v string) (autoscale.ScheduledAction, error) {
	var a autoscale.ScheduledAction
	parts := strings.Split(v, ";")
	if len(parts) < 4 || len(parts) > 5 {
		return a, fmt.Errorf("want NAME;CRON;DURATION;MIN[;MAX]")
	}
	a.Name = strings.TrimSpace(parts[0])
	c, err := autoscale.ParseCron(parts[1], time.UTC)
	if err != nil {
		return a, err
	}
	a.Start = c
	if a.Duration, err = time.ParseDuration(strings.TrimSpace(parts[2])); err != nil {
		return a, fmt.Errorf("duration: %w", err)
	}
	num := func(s string) (*int, error) {
		s = strings.TrimSpace(s)
		if s == "-" || s == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", s)
		}
		return &n, nil
	}
	if a.Min, err = num(parts[3]); err != nil {
		return a, fmt.Errorf("min: %w", err)
	}
	if len(parts) == 5 {
		if a.Max, err = num(parts[4]); err != nil {
			return a, fmt.Errorf("max: %w", err)
		}
	}
	return a, a.Validate()
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
