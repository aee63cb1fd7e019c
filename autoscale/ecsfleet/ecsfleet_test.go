package ecsfleet_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/ecsfleet"
	"github.com/qscale/qscale/autoscale/fleettest"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

var serial atomic.Int64

// motoService creates a cluster and an empty service in moto and returns
// their names and a client that reads moto directly.
func motoService(t *testing.T) (cluster, service string, client *ecs.Client) {
	t.Helper()
	endpoint := needMoto(t)
	ctx := t.Context()
	client = ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	n := serial.Add(1)
	cluster, service = fmt.Sprintf("qscale-%d", n), fmt.Sprintf("workers-%d", n)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(service),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("worker"), Image: aws.String("qscale:latest"), Memory: aws.Int32(512),
			Command: []string{"worker", "--status-addr", "0.0.0.0:8081"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(cluster), ServiceName: aws.String(service),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(0),
	}); err != nil {
		t.Fatal(err)
	}
	return cluster, service, client
}

func newMotoFleet(t *testing.T) (*ecsfleet.Fleet, string, string, *ecs.Client) {
	t.Helper()
	cluster, service, client := motoService(t)
	f, err := ecsfleet.FromSettings(t.Context(), ecsfleet.Settings{
		Cluster: cluster, Service: service, Region: "us-east-1", Endpoint: motoEndpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, cluster, service, client
}

// settle waits until the service runs what it should: runningCount ==
// desiredCount and nothing pending. moto applies a new desiredCount at
// once (runningCount follows in the same call, pendingCount stays 0), so
// against moto this returns on its first reading; the wait is there for a
// real ECS endpoint.
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
			t.Fatalf("service did not settle: %+v", s)
		}
		time.Sleep(200 * time.Millisecond) // an outside system: nothing to wait on but its answers
	}
}

// The conformance suite against moto's ECS. moto starts no tasks for a
// service (ListTasks ignores serviceName, DescribeServices reports
// runningCount = desiredCount), so no worker can be marked busy there:
// the idle-first test is skipped here and covered against a recorded ECS
// endpoint in TestScaleInProtection.
func TestConformanceMoto(t *testing.T) {
	t.Parallel()
	needMoto(t)
	fleettest.Run(t, func(t *testing.T) fleettest.Harness {
		f, _, _, _ := newMotoFleet(t)
		return fleettest.Harness{Fleet: f, Settle: func(t *testing.T) { settle(t, f) }}
	})
}

type queueStats struct {
	mu sync.Mutex
	st autoscale.QueueStats
}

func (q *queueStats) set(visible int) {
	q.mu.Lock()
	q.st.Visible = visible
	q.mu.Unlock()
}

func (q *queueStats) Observe(context.Context) (autoscale.QueueStats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st, nil
}

// A controller sizes the moto service, and the service read back through
// ECS's own API has the size the controller decided.
func TestControllerDrivesMotoService(t *testing.T) {
	t.Parallel()
	f, cluster, service, client := newMotoFleet(t)
	ctx := t.Context()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	zero := 0
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleOutCooldown: &zero, ScaleInCooldown: &zero})
	if err != nil {
		t.Fatal(err)
	}
	q := &queueStats{}
	q.set(1500)
	ctrl, err := autoscale.New(autoscale.Options{Source: q, Fleet: f, Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Min: 0, Max: 10}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	desired := func() (int32, int32) {
		t.Helper()
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices: %v %+v", err, out)
		}
		return out.Services[0].DesiredCount, out.Services[0].RunningCount
	}
	tick := func(wantTo int) {
		t.Helper()
		d := ctrl.Tick(ctx)
		if d.Error != "" || d.To != wantTo || !d.Applied {
			t.Fatalf("decision %+v, want applied to %d", d, wantTo)
		}
		if got, _ := desired(); int(got) != wantTo {
			t.Fatalf("moto's desiredCount = %d after the controller set %d", got, wantTo)
		}
		clk.Advance(time.Second)
	}
	tick(10) // wake from zero sized at 1500 / 100 = 15, capped at max 10
	if _, running := desired(); running != 10 {
		t.Fatalf("moto runningCount = %d, want 10", running)
	}
	q.set(0)
	tick(0) // empty queue: scale to zero
}

// Errors from ECS carry the call, the service and a hint.
func TestMotoErrors(t *testing.T) {
	t.Parallel()
	endpoint := needMoto(t)
	ctx := t.Context()
	f, err := ecsfleet.FromSettings(ctx, ecsfleet.Settings{Cluster: "no-such-cluster", Service: "svc", Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.State(ctx)
	if err == nil || !strings.Contains(err.Error(), "no-such-cluster") || !strings.Contains(err.Error(), "check the fleet settings") {
		t.Fatalf("State of a missing cluster: %v", err)
	}

	cluster, _, client := motoService(t)
	f, err = ecsfleet.FromSettings(ctx, ecsfleet.Settings{Cluster: cluster, Service: "missing", Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.State(ctx); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("State of a missing service: %v", err)
	}
	if err := f.SetDesired(ctx, 2); err == nil {
		t.Fatal("SetDesired of a missing service succeeded")
	}

	// A deleted service is INACTIVE: SetDesired says so instead of
	// updating it.
	cluster3, service3, _ := motoService(t)
	if _, err := client.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster3), Service: aws.String(service3)}); err != nil {
		t.Fatal(err)
	}
	f, err = ecsfleet.FromSettings(ctx, ecsfleet.Settings{Cluster: cluster3, Service: service3, Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(ctx, 1); err == nil || !strings.Contains(err.Error(), "INACTIVE") {
		t.Fatalf("SetDesired of a deleted service: %v", err)
	}
}

func TestOptionsAndSettingsValidated(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, tc := range []struct {
		s    ecsfleet.Settings
		want string
	}{
		{ecsfleet.Settings{Service: "s"}, "Cluster is required"},
		{ecsfleet.Settings{Cluster: "c"}, "Service is required"},
		{ecsfleet.Settings{Cluster: "c", Service: "s", StatusPort: 70000}, "not a port"},
		{ecsfleet.Settings{Cluster: "c", Service: "s", ProtectionExpiry: 30 * time.Second}, "1m to 48h"},
		{ecsfleet.Settings{Cluster: "c", Service: "s", ProtectionExpiry: 49 * time.Hour}, "1m to 48h"},
		{ecsfleet.Settings{Cluster: "c", Service: "s", Endpoint: "localhost:4566"}, "not an http(s) URL"},
	} {
		if _, err := ecsfleet.FromSettings(ctx, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromSettings(%+v) = %v, want an error with %q", tc.s, err, tc.want)
		}
	}
}
