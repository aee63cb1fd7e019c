package k8sfleet_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/k8sfleet/leader"
	"github.com/qscale/qscale/internal/clock"
)

// The fleet asks the Lease before it writes: while the elector holds the
// Lease and renewed it within the renew deadline, SetDesired scales; once
// the deadline passes without a renewal (on the injected clock: a process
// paused, say), the term's context ends, and a SetDesired under way fails with leader.ErrNotLeading and the
// Deployment keeps its size.
func TestGuardStopsWritesPastTheRenewDeadline(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	clk := clock.NewFake(time.Now())
	// Renewals every 30 s: none happens during the test, so only the fake
	// clock moves the Lease's age.
	e, err := leader.New(leader.Config{
		Client: fx.client, Namespace: fx.ns, Lease: "guard", Identity: "guard-test",
		LeaseDuration: 60 * time.Second, RenewDeadline: 40 * time.Second, RetryPeriod: 30 * time.Second, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Leading(); !errors.Is(err, leader.ErrNotLeading) {
		t.Fatalf("Leading before the campaign = %v, want ErrNotLeading", err)
	}
	f, err := k8sfleet.New(k8sfleet.Config{Client: fx.client, Namespace: fx.ns, Name: fx.name, Status: fx.status, Guard: e})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	results := make(chan error, 2)
	runDone := make(chan error, 1)
	go func() {
		var terms atomic.Int32
		runDone <- e.Run(ctx, func(ctx context.Context) error {
			if terms.Add(1) > 1 {
				// The watchdog ended the first term; the elector took
				// the Lease back (it still named this process).
				<-ctx.Done()
				return nil
			}
			results <- f.SetDesired(ctx, 2)
			clk.Advance(40 * time.Second)
			// A call already under way when the term's context ends (the
			// elector cancels it at the deadline): the guard refuses it.
			results <- f.SetDesired(t.Context(), 4)
			<-ctx.Done()
			return nil
		})
	}()
	if err := <-results; err != nil {
		t.Fatalf("SetDesired while leading: %v", err)
	}
	if err := <-results; !errors.Is(err, leader.ErrNotLeading) {
		t.Fatalf("SetDesired past the renew deadline = %v, want ErrNotLeading", err)
	}
	sc, err := fx.client.AppsV1().Deployments(fx.ns).GetScale(t.Context(), fx.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2: the refused call wrote", sc.Spec.Replicas)
	}
	cancel()
	if err := <-runDone; err != nil {
		t.Fatalf("Run: %v", err)
	}
	l, err := fx.client.CoordinationV1().Leases(fx.ns).Get(t.Context(), "guard", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := l.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the Lease is still held by %q after Run returned: want it released", *h)
	}
}
