package fleets_test

import (
	"testing"

	"github.com/qscale/qscale/autoscale/fleets"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/internal/service/servicetest"
)

// A built fleet keeps qscale's lifecycle contract, with or without a
// lifecycle of its own (memory; local, whose workers stay at zero here).
func TestFleetLifecycle(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`fleets: [{queue: {url: "http://127.0.0.1:9/000000000000/jobs"}, maxCapacity: 2, memory: {}, policies: [{targetTracking: {TargetValue: 10}}]}]`,
		`fleets: [{queue: {url: "http://127.0.0.1:9/000000000000/jobs"}, maxCapacity: 2, local: {command: ["true"]}, policies: [{targetTracking: {TargetValue: 10}}]}]`,
	} {
		cfg, err := config.Parse([]byte(src), t.TempDir(), config.ForAutoscale)
		if err != nil {
			t.Fatal(err)
		}
		f := cfg.Fleets[0]
		t.Run(f.Kind(), func(t *testing.T) {
			servicetest.Run(t, func(t *testing.T) service.Service {
				fl, err := fleets.Build(t.Context(), f, "fleets[0]", fleets.Env{})
				if err != nil {
					t.Fatal(err)
				}
				return fl
			})
		})
	}
}
