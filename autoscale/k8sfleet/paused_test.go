package k8sfleet_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/qscale/qscale/autoscale/k8sfleet"
)

// The Deployment's qscale.io/paused annotation pauses the autoscaler, as
// the fleet read it at the last State.
func TestPausedAnnotation(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	annotate := func(v string) {
		t.Helper()
		patch := `{"metadata":{"annotations":{"` + k8sfleet.PausedAnnotation + `":` + v + `}}}`
		if _, err := fx.client.AppsV1().Deployments(fx.ns).Patch(ctx, fx.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.fleet.State(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := fx.fleet.PausedExternally(ctx); p {
		t.Fatal("paused without the annotation")
	}
	annotate(`"true"`)
	if p, why := fx.fleet.PausedExternally(ctx); !p || !strings.Contains(why, `qscale.io/paused: "true"`) {
		t.Fatalf("annotated: %v %q", p, why)
	}
	annotate(`"false"`)
	if p, _ := fx.fleet.PausedExternally(ctx); p {
		t.Fatal(`paused with "false"`)
	}
	annotate(`null`)
	if p, _ := fx.fleet.PausedExternally(ctx); p {
		t.Fatal("paused once the annotation is removed")
	}
}
