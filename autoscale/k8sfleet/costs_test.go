package k8sfleet_test

import (
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qscale/qscale/autoscale/k8sfleet"
)

func pod(name string, ready bool) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if ready {
		p.Status = corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		}
	}
	return p
}

// The ranking written before a scale-in is workerstatus.Order: pods not
// ready, then leaving workers (stopped, or draining with nothing held),
// then idle ones (longest idle first), then workers whose status cannot be
// read or is unknown, then busy ones. Each class has its band of costs and
// a pod's cost is its place in its class. Statuses are served over HTTP on
// loopback and read by HTTPStatus.
func TestCostsRankIdleBeforeBusy(t *testing.T) {
	t.Parallel()
	ws := newWorkerStatuses(t)
	now := time.Now()
	set := func(name, state string, since time.Time) {
		s := ws.server(name)
		s.mu.Lock()
		s.state, s.since = state, since
		s.mu.Unlock()
	}
	set("idle-long", "idle", now.Add(-time.Hour))
	set("idle-new", "idle", now.Add(-2*time.Second))
	set("busy", "busy", now)
	set("draining", "draining", now)
	set("stopped", "stopped", now)
	set("strange", "sleepy", now)
	ws.server("down").srv.Close()
	terminating := pod("terminating", true)
	terminating.DeletionTimestamp = &metav1.Time{Time: now}
	pods := []corev1.Pod{
		pod("pending", false), pod("idle-long", true), pod("idle-new", true), pod("busy", true),
		pod("draining", true), pod("stopped", true), pod("down", true), pod("strange", true), terminating,
	}
	got := k8sfleet.Costs(t.Context(), ws, pods, 4)
	want := map[string]int{
		"pending": k8sfleet.CostNotReady,
		// Both leaving since now: the given order.
		"draining": k8sfleet.CostLeaving, "stopped": k8sfleet.CostLeaving + 1,
		"idle-long": k8sfleet.CostIdle, "idle-new": k8sfleet.CostIdle + 1,
		"down": k8sfleet.CostUnknown, "strange": k8sfleet.CostUnknown + 1,
		"busy": k8sfleet.CostBusy,
	}
	if len(got) != len(want) {
		t.Errorf("costs for %d pods, want %d (terminating pods left out): %v", len(got), len(want), got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("cost of %s = %d, want %d", name, got[name], w)
		}
	}
}

func annotated(name string, ready bool, cost string) corev1.Pod {
	p := pod(name, ready)
	if cost != "" {
		p.Annotations = map[string]string{k8sfleet.DeletionCostAnnotation: cost}
	}
	return p
}

// Patches writes only what makes the ReplicaSet's k cheapest the fleet's k
// cheapest.
func TestPatchesWriteOnlyWhatTheRankingNeeds(t *testing.T) {
	t.Parallel()
	pods := []corev1.Pod{
		annotated("pending", false, ""),
		annotated("idle-long", true, ""),
		annotated("idle-new", true, "-2"),      // already right
		annotated("busy", true, ""),            // kept; 0 is above every victim
		annotated("busy-stale", true, "-3600"), // was idle last time: would rank first
		annotated("unknown", true, "1"),
	}
	costs := map[string]int{
		"pending": k8sfleet.CostNotReady, "idle-long": -3600, "idle-new": -2,
		"busy": k8sfleet.CostBusy + 1, "busy-stale": k8sfleet.CostBusy + 3, "unknown": k8sfleet.CostUnknown,
	}
	for _, tc := range []struct {
		k    int
		want map[string]int
	}{
		{0, map[string]int{}},
		// Victims pending (ranked first anyway) and idle-long; busy-stale's
		// -3600 would tie with idle-long, so it is corrected.
		{2, map[string]int{"idle-long": -3600, "busy-stale": k8sfleet.CostBusy + 3}},
		{3, map[string]int{"idle-long": -3600, "busy-stale": k8sfleet.CostBusy + 3}},
		// A busy worker must go: every pod at or below its cost is written.
		{5, map[string]int{"idle-long": -3600, "busy-stale": k8sfleet.CostBusy + 3, "busy": k8sfleet.CostBusy + 1}},
		{9, map[string]int{"idle-long": -3600, "busy-stale": k8sfleet.CostBusy + 3, "busy": k8sfleet.CostBusy + 1}},
	} {
		got := k8sfleet.Patches(pods, costs, tc.k)
		if !maps.Equal(got, tc.want) {
			t.Errorf("k=%d: patches %v, want %v", tc.k, got, tc.want)
		}
	}
}
