package fleets

import (
	"context"

	"github.com/qscale/qscale/autoscale"
)

var _ autoscale.PauseReporter = (*Fleet)(nil)

// PausedExternally implements autoscale.PauseReporter for the kinds that
// can be paused from outside qscale (Kubernetes' qscale.io/paused
// annotation); the others never are.
func (f *Fleet) PausedExternally(ctx context.Context) (bool, string) {
	if p, ok := f.Fleet.(autoscale.PauseReporter); ok {
		return p.PausedExternally(ctx)
	}
	return false, ""
}
