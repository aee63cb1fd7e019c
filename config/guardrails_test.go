package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/config"
)

const guardedFleet = `fleets:
- queue: {url: "http://127.0.0.1:9324/000000000000/jobs"}
  minCapacity: 1
  maxCapacity: 10
  memory: {}
  ` + validPolicies + `
  guardrails:
`

func TestGuardrailsDefaultsAndConversion(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(guardedFleet+`    scaleOut: {maxChange: 4}
    scaleIn: {maxPercent: 10, period: 5m}
    fallback: {capacity: 3}
`), "", config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Fleets[0].AutoscaleGuardrails()
	want := autoscale.Guardrails{
		ScaleOut: autoscale.RateLimit{MaxChange: 4, Period: config.DefaultGuardrailPeriod},
		ScaleIn:  autoscale.RateLimit{MaxPercent: 10, Period: 5 * time.Minute},
		Fallback: autoscale.Fallback{Failures: config.DefaultFallbackFailures, Capacity: 3},
	}
	if got != want {
		t.Fatalf("guardrails\n got %+v\nwant %+v", got, want)
	}
	none := c.Fleets[0]
	none.Guardrails = nil
	if g := none.AutoscaleGuardrails(); g != (autoscale.Guardrails{}) {
		t.Fatalf("no section: %+v", g)
	}
}

func TestGuardrailErrorsNameTheField(t *testing.T) {
	t.Parallel()
	_, err := config.Parse([]byte(guardedFleet+`    scaleOut: {period: 10ms}
    scaleIn: {maxChange: -1}
    fallback: {failures: -2, capacity: 20}
`), "", config.ForAutoscale)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{
		"fleets[0].guardrails.scaleOut: give maxChange (workers) or maxPercent",
		"fleets[0].guardrails.scaleOut.period: must be at least 1s, got 10ms",
		"fleets[0].guardrails.scaleIn.maxChange: must be 1 or more, got -1",
		"fleets[0].guardrails.fallback.failures: must be 1 or more, got -2",
		"fleets[0].guardrails.fallback.capacity: 20 is outside minCapacity..maxCapacity (1..10)",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error:\n%v\nwant it to contain %q", err, w)
		}
	}
	_, err = config.Parse([]byte(guardedFleet+"    fallback: {failures: 2}\n"), "", config.ForAutoscale)
	if err == nil || !strings.Contains(err.Error(), "fleets[0].guardrails.fallback.capacity: is required") {
		t.Fatalf("fallback without capacity: %v", err)
	}
}

func TestAutoscaleConsoleNeedsATokenBeyondLoopback(t *testing.T) {
	t.Setenv(config.ConsoleTokenEnv, "")
	for _, tc := range []struct {
		c    config.AutoscaleConsole
		want string
	}{
		{config.AutoscaleConsole{}, ""},
		{config.AutoscaleConsole{Listen: "off"}, ""},
		{config.AutoscaleConsole{Listen: "[::1]:0"}, ""},
		{config.AutoscaleConsole{Listen: "0.0.0.0:9326", Token: "t"}, ""},
		{config.AutoscaleConsole{Listen: "0.0.0.0:9326"}, "--console-token: is required when the console listens on 0.0.0.0:9326"},
		{config.AutoscaleConsole{Listen: "nope"}, `--console: "nope": want host:port or off`},
	} {
		c := tc.c.WithDefaults()
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
	if c := (config.AutoscaleConsole{}).WithDefaults(); c.Listen != config.DefaultAutoscaleConsole {
		t.Errorf("default listen %q", c.Listen)
	}
	t.Setenv(config.ConsoleTokenEnv, "from-env")
	if c := (config.AutoscaleConsole{Listen: "0.0.0.0:1"}).WithDefaults(); c.Token != "from-env" || c.Validate() != nil {
		t.Errorf("token from the environment: %+v", c)
	}
}
