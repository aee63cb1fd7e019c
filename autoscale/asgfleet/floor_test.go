package asgfleet_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/asgfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker/workerstatus"
)

// Eight instances in moto, five of whose workers (served by a status
// server, reached at the instances' private IPs) hold long messages, and
// an empty queue: the controller keeps the group at five, exactly the busy
// ones, protected from scale-in, until they finish.
func TestBusyFloorMotoGroup(t *testing.T) {
	t.Parallel()
	m := motoGroup(t)
	ctx := t.Context()
	ids, ipOf := m.launch(t, 8)
	idOf := map[string]string{}
	for id, ip := range ipOf {
		idOf[ip] = id
	}
	var mu sync.Mutex // guards busy
	busy := map[string]bool{}
	for _, id := range ids[1:6] { // not the first: moto removes in list order
		busy[id] = true
	}
	statusSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		mu.Lock()
		b := busy[idOf[host]]
		mu.Unlock()
		rep := workerstatus.Report{Version: workerstatus.Version, State: workerstatus.Idle}
		if b {
			rep.State, rep.InFlight = workerstatus.Busy, 1
		}
		_ = json.NewEncoder(w).Encode(rep)
	}))
	t.Cleanup(statusSrv.Close)
	addr := statusSrv.Listener.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	f, err := asgfleet.New(m.asg, asgfleet.Options{Group: m.group, IPs: m.ips(), Busy: &asgfleet.StatusReader{Port: 8081, Client: client}})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	zero := 0
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleInCooldown: &zero})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := autoscale.New(autoscale.Options{Source: &fixedQueue{}, Fleet: f, Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Min: 0, Max: 10}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		d := ctrl.Tick(ctx)
		if d.To != 5 || d.Rule != autoscale.RuleBusyFloor || d.Error != "" || !strings.HasPrefix(d.Reason, "kept 5: 5 workers hold messages") {
			t.Fatalf("with 5 busy workers and no backlog: %+v", d)
		}
		kept := m.instances(t)
		slices.Sort(kept)
		want := slices.Sorted(func(yield func(string) bool) {
			for id := range busy {
				if !yield(id) {
					return
				}
			}
		})
		if !slices.Equal(kept, want) {
			t.Fatalf("the group kept %v, want exactly the busy instances %v", kept, want)
		}
		out, err := m.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{m.group}})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range out.AutoScalingGroups[0].Instances {
			if !aws.ToBool(in.ProtectedFromScaleIn) {
				t.Errorf("busy instance %s is not protected from scale-in", aws.ToString(in.InstanceId))
			}
		}
		clk.Advance(10 * time.Second)
	}
	mu.Lock()
	clear(busy) // the messages are done
	mu.Unlock()
	if d := ctrl.Tick(ctx); d.To != 0 || !d.Applied || d.Error != "" {
		t.Fatalf("once the workers are idle: %+v", d)
	}
	if left := m.instances(t); len(left) != 0 {
		t.Fatalf("instances left: %v", left)
	}
}
