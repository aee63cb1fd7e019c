package k8sfleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/qscale/qscale/autoscale/k8sfleet/k8stest"
	"github.com/qscale/qscale/autoscale/k8sfleet/leader"
	"github.com/qscale/qscale/config"
)

// The autoscaler's manifest runs two replicas under leader election, and
// rbac.yaml lets its service account take, renew and release the Lease
// the ConfigMap names, and nothing more on Leases.
func TestManifestLeaderElection(t *testing.T) {
	t.Parallel()
	cl := k8stest.Need(t, cluster)
	ctx := t.Context()
	var cm *corev1.ConfigMap
	var auto *appsv1.Deployment
	for _, obj := range manifests(t, "autoscaler.yaml") {
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			cm = o
		case *appsv1.Deployment:
			auto = o
		}
	}
	cfg, err := config.Parse([]byte(cm.Data["qscale.yaml"]), ".", config.ForAutoscale)
	if err != nil {
		t.Fatalf("the ConfigMap's qscale.yaml: %v", err)
	}
	le := cfg.Fleets[0].Kubernetes.LeaderElection
	if le == nil {
		t.Fatal("the ConfigMap's fleet has no leaderElection section")
	}
	if r := auto.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("the autoscaler Deployment runs %v replicas, want 2 for high availability", r)
	}

	ns := cl.Namespace(t)
	for _, obj := range manifests(t, "rbac.yaml") {
		if err := create(ctx, cl.Client, ns, obj, false); err != nil {
			t.Fatalf("create %T: %v", obj, err)
		}
	}
	sa := rest.CopyConfig(cl.Config)
	sa.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":qscale-autoscaler"}
	cs, err := kubernetes.NewForConfig(sa)
	if err != nil {
		t.Fatal(err)
	}
	e, err := leader.New(leader.Config{
		Client: cs, Namespace: ns, Lease: le.Lease, Identity: "rbac-test",
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Take the Lease (create), see it renewed (update), return: Run
	// releases it (get, update).
	err = e.Run(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		first := ""
		for {
			l, err := cs.CoordinationV1().Leases(ns).Get(ctx, le.Lease, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("waiting for a renewal of the Lease: %w", err)
			}
			if first == "" {
				first = renewTime(l)
			}
			if err := e.Leading(); err != nil {
				return err
			}
			if renewTime(l) != first {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for a renewal of the Lease: %w", ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	if err != nil {
		t.Fatalf("leader election as the service account: %v", err)
	}
	l, err := cs.CoordinationV1().Leases(ns).Get(ctx, le.Lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := l.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the Lease is held by %q: the service account could not release it", *h)
	}

	for _, ra := range []authv1.ResourceAttributes{
		{Namespace: ns, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "kube-scheduler"},
		{Namespace: ns, Verb: "delete", Group: "coordination.k8s.io", Resource: "leases", Name: le.Lease},
		{Namespace: ns, Verb: "list", Group: "coordination.k8s.io", Resource: "leases"},
		{Namespace: "kube-system", Verb: "create", Group: "coordination.k8s.io", Resource: "leases"},
	} {
		r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authv1.SelfSubjectAccessReview{
			Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed {
			t.Errorf("the autoscaler's service account may %s leases %q in %s: more than it needs", ra.Verb, ra.Name, ra.Namespace)
		}
	}
}
