package leader_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/qscale/qscale/autoscale/k8sfleet/leader"
)

// The elector's behaviour against a real API server is tested in package
// k8sfleet (TestLeaderElection*, TestGuardStopsWritesPastTheRenewDeadline),
// which runs the control plane; here, what needs none.

func client(t *testing.T) kubernetes.Interface {
	t.Helper()
	// New makes no call: an address nothing listens on will do.
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestNewRefusesTimingsThatCannotHold(t *testing.T) {
	t.Parallel()
	cs := client(t)
	for _, tc := range []struct {
		name       string
		ld, rd, rp time.Duration
		want       string
	}{
		{"renew deadline not below the lease", 10 * time.Second, 10 * time.Second, time.Second, "must be above RenewDeadline"},
		{"retries too rare", 15 * time.Second, 3 * time.Second, 3 * time.Second, "must be above 1.2 times RetryPeriod"},
	} {
		_, err := leader.New(leader.Config{Client: cs, Namespace: "jobs", Lease: "l", LeaseDuration: tc.ld, RenewDeadline: tc.rd, RetryPeriod: tc.rp})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := leader.New(leader.Config{Client: cs, Lease: "l", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}); err == nil {
		t.Error("New without a namespace: no error")
	}
}

// A new elector holds nothing: its fleet may not write until it wins.
func TestNotLeadingBeforeTheCampaign(t *testing.T) {
	t.Parallel()
	e, err := leader.New(leader.Config{Client: client(t), Namespace: "jobs", Lease: "l", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Leading(); !errors.Is(err, leader.ErrNotLeading) {
		t.Fatalf("Leading = %v, want ErrNotLeading", err)
	}
	other, err := leader.New(leader.Config{Client: client(t), Namespace: "jobs", Lease: "l", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if e.Identity() == other.Identity() {
		t.Errorf("two electors of one host share the identity %q: a restarted process would trust its previous life's Lease", e.Identity())
	}
}
