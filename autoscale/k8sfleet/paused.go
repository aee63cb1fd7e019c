package k8sfleet

import (
	"context"
	"fmt"

	"github.com/qscale/qscale/autoscale"
)

// PausedAnnotation on the Deployment (or StatefulSet), set to "true",
// pauses the autoscaler: it observes and explains, and does not change the
// replicas (kubectl annotate deployment/workers qscale.io/paused=true).
const PausedAnnotation = "qscale.io/paused"

var _ autoscale.PauseReporter = (*Fleet)(nil)

func (f *Fleet) notePaused(annotations map[string]string) {
	f.paused.Store(annotations[PausedAnnotation] == "true")
}

// PausedExternally implements autoscale.PauseReporter from the annotation
// as the last State read it (no API call of its own: the controller reads
// the state every tick before it asks).
func (f *Fleet) PausedExternally(context.Context) (bool, string) {
	if f.paused.Load() {
		return true, fmt.Sprintf("%s has the annotation %s: \"true\"", f, PausedAnnotation)
	}
	return false, ""
}
