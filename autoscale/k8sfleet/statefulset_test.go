package k8sfleet_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/k8sfleet/k8stest"
	"github.com/qscale/qscale/internal/clock"
)

// A StatefulSet scales through its scale subresource too. It ignores
// pod-deletion-cost (the highest ordinal always goes), so the fleet reads no
// worker status and writes no annotation for it.
func TestStatefulSet(t *testing.T) {
	t.Parallel()
	cl := k8stest.Need(t, cluster)
	ctx := t.Context()
	ns := cl.Namespace(t)
	d := workerDeployment("workers", 0)
	sts := &appsv1.StatefulSet{
		ObjectMeta: d.ObjectMeta,
		Spec: appsv1.StatefulSetSpec{
			Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template,
			ServiceName: "workers", PodManagementPolicy: appsv1.ParallelPodManagement,
		},
	}
	if _, err := cl.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	status := newWorkerStatuses(t)
	f, err := k8sfleet.New(k8sfleet.Config{Client: cl.Client, Namespace: ns, Name: "workers", Kind: k8sfleet.StatefulSet, Status: status})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{cl: cl, client: cl.Client, ns: ns, name: "workers", labels: "app=workers", status: status, fleet: f}
	if err := f.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if s, err := f.State(ctx); err != nil || s.Desired != 3 {
		t.Fatalf("State right after SetDesired(3) = %+v, %v", s, err)
	}
	fx.settle(t)
	// State reads the workers' status (the busy floor, the learned
	// signals); a scale-in of a StatefulSet reads none.
	before := status.readCount()
	if err := f.SetDesired(ctx, 1); err != nil {
		t.Fatal(err)
	}
	read := status.readCount() - before
	fx.settle(t)
	pods, err := fx.pods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 || pods[0].Name != "workers-0" {
		t.Fatalf("after scaling the StatefulSet to 1: pods %v, want workers-0", pods)
	}
	if n := read; n != 0 {
		t.Errorf("the fleet read %d worker statuses for a StatefulSet, which ignores deletion costs", n)
	}
	if _, ok := pods[0].Annotations[k8sfleet.DeletionCostAnnotation]; ok {
		t.Errorf("a StatefulSet pod was annotated")
	}
}

// FromSettings builds a working fleet from a kubeconfig file, the way
// `qscale autoscale` does for a kubernetes: fleet, taking the namespace
// from the setting.
func TestFromSettingsWithKubeconfig(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	s := k8sfleet.Settings{
		Kubeconfig: fx.cl.Kubeconfig, Namespace: fx.ns, Kind: k8sfleet.Deployment, Name: fx.name, StatusPort: 9090, QPS: 50,
	}
	f, err := k8sfleet.FromSettings(t.Context(), s, clock.Real{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	fx.cl.Wait(t, 30*time.Second, "2 ready workers", func(ctx context.Context) (bool, error) {
		st, err := f.State(ctx)
		return st.Size() == autoscale.FleetState{Desired: 2, Running: 2}, err
	})
}
