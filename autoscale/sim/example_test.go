package sim_test

import (
	"context"
	"fmt"

	"github.com/qscale/qscale/autoscale/sim"
)

// The classic test: 10,000 messages at once, through qscale's controller and
// through an emulation of AWS target tracking.
func ExampleRun() {
	for _, mode := range []sim.Mode{sim.QScale, sim.AWS} {
		sc, _ := sim.Builtin("burst")
		r, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Mode: mode})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: first scale-out after %s, %d of %d messages done\n", mode, r.FirstScaleOut, r.Completed, r.Arrived)
	}
	// Output:
	// qscale: first scale-out after 1s, 10000 of 10000 messages done
	// aws: first scale-out after 3m50s, 10000 of 10000 messages done
}
