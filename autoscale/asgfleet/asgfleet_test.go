package asgfleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/asgfleet"
	"github.com/qscale/qscale/autoscale/fleettest"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker/workerstatus"
)

var serial atomic.Int64

type moto struct {
	asg   *autoscaling.Client
	ec2   *ec2.Client
	group string
}

// motoGroup creates a launch template and an empty Auto Scaling group
// (min 0, max 10) in moto.
// launch sizes the group to n through a fleet without a status source
// and returns its instances and each one's private IP address, read from
// EC2 DescribeInstances as the fleet's status reader reads it.
func (m moto) launch(t *testing.T, n int) (ids []string, ipOf map[string]string) {
	t.Helper()
	plain, err := asgfleet.New(m.asg, asgfleet.Options{Group: m.group})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.SetDesired(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	ids = m.instances(t)
	desc, err := m.ec2.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	ipOf = map[string]string{}
	for _, r := range desc.Reservations {
		for _, in := range r.Instances {
			ipOf[aws.ToString(in.InstanceId)] = aws.ToString(in.PrivateIpAddress)
		}
	}
	return ids, ipOf
}

func motoGroup(t *testing.T) moto {
	t.Helper()
	endpoint := needMoto(t)
	ctx := t.Context()
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	m := moto{
		asg: autoscaling.New(autoscaling.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds}),
		ec2: ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds}),
	}
	n := serial.Add(1)
	m.group = fmt.Sprintf("workers-%d", n)
	lt, err := m.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(m.group),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-12c6146b"), InstanceType: ec2types.InstanceTypeT3Micro},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(m.group), MinSize: aws.Int32(0), MaxSize: aws.Int32(10), DesiredCapacity: aws.Int32(0),
		AvailabilityZones: []string{"us-east-1a"},
		LaunchTemplate:    &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("$Latest")},
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// ips is the production IP resolver, pointed at moto.
func (m moto) ips() *asgfleet.EC2 {
	return &asgfleet.EC2{
		Config:   aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		Endpoint: motoEndpoint,
	}
}

// instances lists the group's instance IDs in moto's order.
func (m moto) instances(t *testing.T) []string {
	t.Helper()
	out, err := m.asg.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{m.group}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups: %v", err)
	}
	var ids []string
	for _, in := range out.AutoScalingGroups[0].Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	return ids
}

// busyByID is a BusyReader for tests: the set of busy instance IDs.
type busyByID struct {
	mu   sync.Mutex
	busy map[string]bool
}

func (b *busyByID) ReadStatus(_ context.Context, in asgfleet.Instance) (workerstatus.Report, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy[in.ID] {
		return workerstatus.Report{Version: workerstatus.Version, State: workerstatus.Busy, InFlight: 1}, nil
	}
	return workerstatus.Report{Version: workerstatus.Version, State: workerstatus.Idle}, nil
}

// settle waits until the group holds what it should: InService ==
// DesiredCapacity and nothing pending. moto launches and terminates
// instances inside the SetDesiredCapacity call and puts them InService at
// once (it simulates no Pending state), so against moto this returns on
// its first reading; the wait is there for a real endpoint.
func settle(t *testing.T, f autoscale.Fleet) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := f.State(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if s.Running == s.Desired && s.Starting == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group did not settle: %+v", s)
		}
		time.Sleep(200 * time.Millisecond) // an outside system: nothing to wait on but its answers
	}
}

// The conformance suite against moto's EC2 Auto Scaling, including the
// idle-first test: moto honours instance scale-in protection and otherwise
// terminates instances in list order, so MarkBusy marks the first ones,
// which an unprotected scale-in would remove.
func TestConformanceMoto(t *testing.T) {
	t.Parallel()
	needMoto(t)
	fleettest.Run(t, func(t *testing.T) fleettest.Harness {
		m := motoGroup(t)
		busy := &busyByID{busy: map[string]bool{}}
		f, err := asgfleet.New(m.asg, asgfleet.Options{Group: m.group, Busy: busy})
		if err != nil {
			t.Fatal(err)
		}
		return fleettest.Harness{
			Fleet:  f,
			Settle: func(t *testing.T) { settle(t, f) },
			MarkBusy: func(t *testing.T, n int) func() int {
				ids := m.instances(t)[:n]
				busy.mu.Lock()
				for _, id := range ids {
					busy.busy[id] = true
				}
				busy.mu.Unlock()
				return func() int {
					alive := 0
					for _, id := range m.instances(t) {
						if slices.Contains(ids, id) {
							alive++
						}
					}
					return alive
				}
			},
		}
	})
}

// Without protection moto removes the first instances: the test above
// would fail for a fleet that set none. This checks that premise.
func TestMotoRemovesFirstInstancesWithoutProtection(t *testing.T) {
	t.Parallel()
	m := motoGroup(t)
	f, err := asgfleet.New(m.asg, asgfleet.Options{Group: m.group})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := f.SetDesired(ctx, 4); err != nil {
		t.Fatal(err)
	}
	before := m.instances(t)
	if err := f.SetDesired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	after := m.instances(t)
	if len(after) != 2 || slices.Contains(after, before[0]) || slices.Contains(after, before[1]) {
		t.Fatalf("moto kept %v of %v; the idle-first test relies on it removing the first ones", after, before)
	}
}

// The production path: private IPs from EC2 DescribeInstances (moto),
// busy/idle from each worker's status endpoint, protection set through
// SetInstanceProtection and read back from moto.
func TestStatusEndpointAndProtectionReadBack(t *testing.T) {
	t.Parallel()
	m := motoGroup(t)
	ctx := t.Context()
	ids, ip := m.launch(t, 4)
	// ids[0] busy, ids[1] idle, ids[2] draining with a message, ids[3] idle.
	states := map[string]workerstatus.State{ip[ids[0]]: workerstatus.Busy, ip[ids[1]]: workerstatus.Idle, ip[ids[2]]: workerstatus.Draining, ip[ids[3]]: workerstatus.Idle}
	var mu sync.Mutex
	var asked []string
	statusSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		mu.Lock()
		asked = append(asked, r.Host+r.URL.Path)
		mu.Unlock()
		rep := workerstatus.Report{Version: workerstatus.Version, State: states[host]}
		if rep.State != workerstatus.Idle {
			rep.InFlight = 1
		}
		json.NewEncoder(w).Encode(rep)
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
	if err := f.SetDesired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	after := m.instances(t)
	slices.Sort(after)
	want := []string{ids[0], ids[2]}
	slices.Sort(want)
	if !slices.Equal(after, want) {
		t.Fatalf("kept %v, want the busy and draining ones %v", after, want)
	}
	for _, id := range ids {
		if !slices.Contains(asked, ip[id]+":8081/status") {
			t.Errorf("status of %s (%s) not read; asked %v", id, ip[id], asked)
		}
	}
	// The kept instances carry protection in moto now.
	out, err := m.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{m.group}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range out.AutoScalingGroups[0].Instances {
		if !aws.ToBool(in.ProtectedFromScaleIn) {
			t.Errorf("kept instance %s is not protected", aws.ToString(in.InstanceId))
		}
	}
	// Scaling to zero removes the protection of every instance, so the
	// group can empty.
	if err := f.SetDesired(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if left := m.instances(t); len(left) != 0 {
		t.Fatalf("instances left after scaling to zero: %v", left)
	}
}

// A controller sizes the moto group, read back through the Auto Scaling
// API.
func TestControllerDrivesMotoGroup(t *testing.T) {
	t.Parallel()
	m := motoGroup(t)
	f, err := asgfleet.FromSettings(t.Context(), asgfleet.Settings{GroupName: m.group, Endpoint: motoEndpoint})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	zero := 0
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleOutCooldown: &zero, ScaleInCooldown: &zero})
	if err != nil {
		t.Fatal(err)
	}
	q := &fixedQueue{visible: 350}
	ctrl, err := autoscale.New(autoscale.Options{Source: q, Fleet: f, Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Min: 0, Max: 20}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{4} { // the wake sizes the group at 350 / 100 rounded up
		d := ctrl.Tick(ctx)
		if d.Error != "" || d.To != want || !d.Applied {
			t.Fatalf("decision %+v, want applied to %d", d, want)
		}
		out, err := m.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{m.group}})
		if err != nil {
			t.Fatal(err)
		}
		g := out.AutoScalingGroups[0]
		if int(aws.ToInt32(g.DesiredCapacity)) != want || len(g.Instances) != want {
			t.Fatalf("moto group: desired %d with %d instances, want %d", aws.ToInt32(g.DesiredCapacity), len(g.Instances), want)
		}
		clk.Advance(time.Second)
	}
	// The group's MaxSize is 10: the controller's max of 20 cannot be
	// reached, and the fleet says so instead of letting AWS refuse.
	q.visible = 5000
	d := ctrl.Tick(ctx)
	if d.Error == "" || !strings.Contains(d.Error, "MinSize..MaxSize 0..10") {
		t.Fatalf("decision %+v, want the group's bounds error", d)
	}
	if err := f.SetDesired(ctx, 11); !errors.Is(err, autoscale.ErrInvalidDesired) {
		t.Fatalf("SetDesired(11) = %v, want ErrInvalidDesired", err)
	}
}

type fixedQueue struct{ visible int }

func (q *fixedQueue) Observe(context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{Visible: q.visible}, nil
}

func TestMissingGroup(t *testing.T) {
	t.Parallel()
	f, err := asgfleet.FromSettings(t.Context(), asgfleet.Settings{GroupName: "nope", Endpoint: needMoto(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.State(t.Context()); err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
		t.Fatalf("State of a missing group: %v", err)
	}
}

// The IP resolver against moto's EC2: every instance's private IP, and
// EC2's own error for an unknown instance.
func TestEC2PrivateIPs(t *testing.T) {
	t.Parallel()
	m := motoGroup(t)
	ctx := t.Context()
	f, err := asgfleet.New(m.asg, asgfleet.Options{Group: m.group})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	ids := m.instances(t)
	ips, err := m.ips().PrivateIPs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := m.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range desc.Reservations {
		for _, in := range r.Instances {
			want[aws.ToString(in.InstanceId)] = aws.ToString(in.PrivateIpAddress)
		}
	}
	if len(ips) != 3 || !maps.Equal(ips, want) {
		t.Fatalf("PrivateIPs = %v, want the SDK's answer %v", ips, want)
	}
	_, err = m.ips().PrivateIPs(ctx, []string{"i-00000000000000000"})
	var apiErr *asgfleet.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "InvalidInstanceID.NotFound" {
		t.Fatalf("unknown instance: %v, want InvalidInstanceID.NotFound", err)
	}
}
