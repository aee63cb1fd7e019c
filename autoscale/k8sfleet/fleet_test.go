package k8sfleet_test

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/qscale/qscale/autoscale/fleettest"
	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/k8sfleet/k8stest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	fleettest.Run(t, func(t *testing.T) fleettest.Harness {
		fx := setup(t)
		return fleettest.Harness{Fleet: fx.fleet, Settle: fx.settle, MarkBusy: fx.markBusy}
	})
}

// Five workers, two of them busy, scaled to two: the busy ones survive.
// The busy pods are the ones the ReplicaSet would remove first on its own
// (see markBusy); the control subtest shows that without the costs it does.
func TestScaleInSparesBusyWorkers(t *testing.T) {
	t.Parallel()
	t.Run("WithDeletionCosts", func(t *testing.T) {
		t.Parallel()
		fx := setup(t)
		ctx := t.Context()
		if err := fx.fleet.SetDesired(ctx, 5); err != nil {
			t.Fatal(err)
		}
		fx.settle(t)
		alive := fx.markBusy(t, 2)
		before := fx.status.readCount() // settle's State calls read them too
		if err := fx.fleet.SetDesired(ctx, 2); err != nil {
			t.Fatal(err)
		}
		read := fx.status.readCount() - before
		fx.settle(t)
		if n := alive(); n != 2 {
			t.Fatalf("scale-in from 5 to 2 removed %d of the 2 busy workers", 2-n)
		}
		if read != 5 {
			t.Errorf("the fleet read %d worker statuses for the scale-in, want all 5", read)
		}
	})
	t.Run("ControlWithoutCosts", func(t *testing.T) {
		t.Parallel()
		fx := setup(t)
		scale := func(n int32) { outsideScale(t, fx, n) }
		scale(5)
		fx.settle(t)
		alive := fx.markBusy(t, 2)
		scale(2) // what an HPA or KEDA does: no deletion costs
		fx.settle(t)
		if n := alive(); n == 2 {
			t.Fatalf("without deletion costs the ReplicaSet kept both busy workers: the busy pods were not its first choice, so the test above proves nothing")
		}
	})
}

// State reads the real size every time: a change made behind the fleet's
// back (kubectl scale) shows at once.
func TestStateSeesOutsideChanges(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	if err := fx.fleet.SetDesired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	outsideScale(t, fx, 4)
	s, err := fx.fleet.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Desired != 4 {
		t.Fatalf("after an outside scale to 4: State = %+v", s)
	}
	fx.settle(t)
}

func TestMissingWorkloadIsAClearError(t *testing.T) {
	t.Parallel()
	cl := k8stest.Need(t, cluster)
	ns := cl.Namespace(t)
	f, err := k8sfleet.New(k8sfleet.Config{Client: cl.Client, Namespace: ns, Name: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.State(t.Context())
	if err == nil || !errors.Is(err, k8sfleet.ErrWorkload) || !strings.Contains(err.Error(), `no Deployment "nope" in namespace`) {
		t.Fatalf("State of a missing deployment = %v", err)
	}
}

// outsideScale sets the replicas the way kubectl scale does, behind the
// fleet's back.
func outsideScale(t *testing.T, fx *fixture, n int32) {
	t.Helper()
	ctx := t.Context()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := fx.client.AppsV1().Deployments(fx.ns).GetScale(ctx, fx.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = n
		_, err = fx.client.AppsV1().Deployments(fx.ns).UpdateScale(ctx, fx.name, sc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("scale to %d: %v", n, err)
	}
}
