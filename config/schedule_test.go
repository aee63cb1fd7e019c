package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/config"
)

const scheduledFleet = `fleets:
- queue: {url: "http://127.0.0.1:9324/000000000000/jobs"}
  minCapacity: 0
  maxCapacity: 10
  memory: {}
  ` + validPolicies + `
  schedule:
`

func TestScheduleConversion(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(scheduledFleet+`  - {name: morning, cron: "0 8 * * 1-5", timezone: Europe/Paris, duration: 90m, min: 5}
  - {name: nightly, cron: "55 1 * * *", end: "30 2 * * *", min: 8, max: 20}
`), "", config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Fleets[0].BuildSchedule()
	if err != nil {
		t.Fatal(err)
	}
	// Wednesday 7 January 2026, 08:30 in Paris.
	b, why := s.Bounds(time.Date(2026, 1, 7, 7, 30, 0, 0, time.UTC), c.Fleets[0].Bounds())
	if b != (policy.Bounds{Min: 5, Max: 10}) || why != "schedule 'morning' raises min to 5 until 09:30 CET" {
		t.Fatalf("morning: %+v %q", b, why)
	}
	b, why = s.Bounds(time.Date(2026, 1, 7, 2, 0, 0, 0, time.UTC), c.Fleets[0].Bounds())
	if b != (policy.Bounds{Min: 8, Max: 20}) || !strings.Contains(why, "raises max to 20 until 02:30") {
		t.Fatalf("nightly: %+v %q", b, why)
	}
}

func TestScheduleErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for entry, field := range map[string]string{
		`{name: a, cron: "0 8 * *", duration: 1h, min: 1}`:                        "schedule[0].cron",
		`{name: a, cron: "0 8 * * *", timezone: Mars/Base, duration: 1h, min: 1}`: "schedule[0].timezone",
		`{name: a, cron: "0 8 * * *", end: "x", min: 1}`:                          "schedule[0].end",
		`{name: a, cron: "0 8 * * *", min: 1}`:                                    "schedule[0]",
		`{name: a, cron: "0 8 * * *", duration: 1h, min: 20}`:                     "schedule[0].min",
	} {
		_, err := config.Parse([]byte(scheduledFleet+"  - "+entry+"\n"), "", config.ForAutoscale)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v, want one naming %s", entry, err, field)
		}
	}
}

func TestPredictObjective(t *testing.T) {
	t.Parallel()
	window := "  - {name: m, cron: \"0 8 * * *\", duration: 1h, min: 1}\n"
	// Target tracking names no acceptable wait: the objective is required.
	_, err := config.Parse([]byte(scheduledFleet+window+"  predict: {}\n"), "", config.ForAutoscale)
	if err == nil || !strings.Contains(err.Error(), "predict.objective") {
		t.Fatalf("predict: {} without an objective: %v", err)
	}
	c, err := config.Parse([]byte(scheduledFleet+window+"  predict: {objective: 10s}\n"), "", config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Fleets[0].BuildPredictor(); err != nil || p == nil {
		t.Fatalf("predict with an objective: %v, %v", p, err)
	}
	c.Fleets[0].Predict = nil
	if p, err := c.Fleets[0].BuildPredictor(); err != nil || p != nil {
		t.Fatalf("no predict: %v, %v", p, err)
	}
}
