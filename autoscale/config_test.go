package autoscale_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
)

func TestLoadConfigSeeds(t *testing.T) {
	t.Parallel()
	c, err := autoscale.LoadConfig("testdata/qscale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Interval.D() != time.Second || c.MaxCapacity != 50 || c.Fleet.Settings["startDelay"] != "30s" {
		t.Fatalf("config %+v", c)
	}
	if tt := c.Policies[0].TargetTracking; tt == nil || tt.TargetValue != 100 || *tt.ScaleInCooldown != 60 {
		t.Fatalf("seed 000 config.json: %+v", tt)
	}
	ps, err := c.BuildPolicies()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name())
	}
	if got := strings.Join(names, ","); got != "backlog100,initial/lower,initial/upper,high/lower,high/upper,slo,raw-step" {
		t.Fatalf("policies %s", got)
	}
}

func TestConfigAcceptsJSON(t *testing.T) {
	t.Parallel()
	c, err := autoscale.ParseConfig([]byte(`{
	  "queue": {"url": "http://127.0.0.1:4566/000000000000/q"},
	  "fleet": {"kind": "memory"},
	  "maxCapacity": 10,
	  "interval": "2s",
	  "policies": [{"targetTracking": {"TargetValue": 100.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60, "DisableScaleIn": true}}]
	}`), ".")
	if err != nil {
		t.Fatal(err)
	}
	if c.Interval.D() != 2*time.Second || !c.Policies[0].TargetTracking.DisableScaleIn || c.Queue.Region != "us-east-1" {
		t.Fatalf("%+v", c)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	_, err := autoscale.ParseConfig([]byte(`
queue: {url: "not a url"}
fleet: {}
minCapacity: 5
maxCapacity: 2
interval: 10ms
policies:
  - targetTracking: {TargetValue: -1, ScaleInCooldown: -5}
  - latency: {acceptableWait: 0s}
  - name: x
    latency: {acceptableWait: 10s}
    targetTracking: {TargetValue: 1}
  - scaleOnMetric:
      adjustmentType: ChangeInCapacity
      steps: [{lower: 1, upper: 3, change: 1}]
`), ".")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`queue.url: "not a url" is not an absolute URL`,
		"fleet.kind: is required",
		"maxCapacity: 2 is below minCapacity 5",
		"interval: must be at least 100ms, got 10ms",
		"policies[0].targetTracking.TargetValue: must be greater than 0, got -1",
		"policies[0].targetTracking.ScaleInCooldown: must be 0 or more seconds, got -5",
		"policies[1].latency.acceptableWait: must be a positive duration",
		"policies[2]: give exactly one of",
		"policies[3].scaleOnMetric.steps: needs at least 2 steps",
		"policies[3].scaleOnMetric.steps[0]: give exactly one of lower and upper",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if _, err := autoscale.ParseConfig([]byte("queue: {url: http://x/q}\nfleet: {kind: memory}\nmaxCapacity: 1\npolicies: [{latency: {acceptableWait: 1s}}]\nbogus: 1\n"), "."); err == nil || !strings.Contains(err.Error(), "field bogus not found") {
		t.Fatalf("unknown field: %v", err)
	}
}
