package autoscale

import (
	"fmt"

	"github.com/qscale/qscale/autoscale/policy"
)

// RuleBusyFloor names a decision raised to the number of busy workers.
const RuleBusyFloor = "busy-floor"

// busyFloor raises a scale-in that would go below the workers holding
// messages to their number, so that no scale-in stops a worker in the
// middle of a message: the fleet shrinks as they finish. It never raises
// above the bounds' max, and leaves scale-outs and holds alone.
func (c *Controller) busyFloor(o policy.Outcome, f FleetState) policy.Outcome {
	if c.o.AllowBelowBusy || o.Desired >= f.Desired || o.Desired >= f.Busy {
		return o
	}
	floor := min(f.Busy, f.Desired, c.o.Bounds.Max)
	if floor <= o.Desired {
		return o
	}
	o.Reason = fmt.Sprintf("kept %d: %d workers hold messages (the policies asked for %d: %s)", floor, f.Busy, o.Desired, o.Reason)
	o.Desired, o.Rule = floor, RuleBusyFloor
	return o
}
