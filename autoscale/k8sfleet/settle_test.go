package k8sfleet_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/internal/clock"
)

// On the real control plane: a scale-in writes the pods' deletion costs,
// waits CostSettle on the fleet's clock, and only then lowers the replica
// count, so the ReplicaSet's cache has the costs before it picks.
func TestScaleInLetsTheCostsSettleFirst(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	if err := fx.fleet.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	fx.settle(t)
	clk := clock.NewFake(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	f, err := k8sfleet.New(k8sfleet.Config{
		Client: fx.client, Namespace: fx.ns, Name: fx.name, Status: fx.status,
		Clock: clk, CostSettle: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	replicas := func() int32 {
		t.Helper()
		sc, err := fx.client.AppsV1().Deployments(fx.ns).GetScale(ctx, fx.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sc.Spec.Replicas
	}
	created := clk.TimerCreated()
	done := make(chan error, 1)
	go func() { done <- f.SetDesired(ctx, 1) }()
	<-created // the costs are written; the settle timer runs
	pods, err := fx.pods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	annotated := 0
	for _, p := range pods {
		if _, ok := p.Annotations[k8sfleet.DeletionCostAnnotation]; ok {
			annotated++
		}
	}
	if annotated < 2 {
		t.Fatalf("%d of %d pods carry a deletion cost before the scale, want the 2 victims at least", annotated, len(pods))
	}
	if got := replicas(); got != 3 {
		t.Fatalf("replicas %d while the costs settle, want 3", got)
	}
	clk.Advance(5 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := replicas(); got != 1 {
		t.Fatalf("replicas %d after the settle, want 1", got)
	}
}
