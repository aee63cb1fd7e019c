package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
)

func TestAWSFleetKindsRegistered(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"ecs", "ec2-asg", "asg"} {
		if fleetKinds[k] == nil {
			t.Errorf("fleet kind %q is not registered", k)
		}
	}
}

func TestAWSFleetSettingsRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, c := range []struct {
		kind     string
		settings map[string]any
		want     []string
	}{
		{"ecs", map[string]any{"service": "s"}, []string{"fleet.settings.cluster: required by the ecs fleet"}},
		{"ecs", map[string]any{"cluster": "c", "service": "s", "groupName": "g", "statusport": 1},
			[]string{"fleet.settings.groupName: unknown setting of the ecs fleet (known: cluster, service, region, endpoint, statusPort, protectionExpiry)", "fleet.settings.statusport: unknown"}},
		{"ecs", map[string]any{"cluster": "c", "service": 3, "statusPort": 70000, "protectionExpiry": "soon"},
			[]string{"service: want a non-empty string, got 3", "statusPort: want a port number 1-65535, got 70000", "protectionExpiry: want a positive duration"}},
		{"ecs", map[string]any{"cluster": "c", "service": "s", "protectionExpiry": "72h"}, []string{"must be 1m to 48h"}},
		{"ec2-asg", map[string]any{"cluster": "c"}, []string{"fleet.settings.groupName: required by the ec2-asg fleet", "fleet.settings.cluster: unknown setting of the ec2-asg fleet"}},
		{"asg", map[string]any{"groupName": "g", "statusPort": "8081"}, []string{"statusPort: want a port number"}},
		{"asg", map[string]any{"groupName": "g", "endpoint": "localhost"}, []string{`endpoint "localhost" is not an http(s) URL`}},
	} {
		_, err := fleetKinds[c.kind](ctx, autoscale.FleetConfig{Kind: c.kind, Settings: c.settings}, clock.Real{})
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: error %v, want it to contain %q", c.kind, c.settings, err, w)
			}
		}
	}
}

// The settings reach the fleet: an ECS fleet built from a configuration's
// settings calls the endpoint they name, for the cluster and service they
// name.
func TestECSFleetFromSettings(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- r.Header.Get("X-Amz-Target") + " " + string(b):
		default:
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{"services":[{"serviceName":"workers","status":"ACTIVE","desiredCount":3,"runningCount":2,"pendingCount":1}],"failures":[]}`)
	}))
	t.Cleanup(srv.Close)
	f, err := fleetKinds["ecs"](t.Context(), autoscale.FleetConfig{Kind: "ecs", Settings: map[string]any{
		"cluster": "jobs", "service": "workers", "region": "eu-west-1", "endpoint": srv.URL, "statusPort": 8081, "protectionExpiry": "30m",
	}}, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s != (autoscale.FleetState{Desired: 3, Running: 2, Starting: 1}) {
		t.Fatalf("State = %+v", s)
	}
	if req := <-got; req != `AmazonEC2ContainerServiceV20141113.DescribeServices {"cluster":"jobs","services":["workers"]}` {
		t.Fatalf("request %s", req)
	}
}

func TestCloudWatchPublisherSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p, err := newCloudWatchPublisher(ctx, map[string]any{
		"namespace": "Jobs", "metricName": "BacklogPerWorker", "dimensions": map[string]any{"Queue": "jobs", "Env": "prod"},
		"unit": "None", "raw": true, "period": "10s", "region": "eu-west-1", "protocol": "query",
	}, "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", clk)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Config()
	if c.Namespace != "Jobs" || c.MetricName != "BacklogPerWorker" || c.Unit != "None" || !c.Raw || c.Period != 10*time.Second ||
		len(c.Dimensions) != 2 || c.Dimensions[0].Name != "Env" || c.Dimensions[1].Value != "jobs" {
		t.Fatalf("config %+v", c)
	}
	// Seed 000's metric by default.
	p, err = newCloudWatchPublisher(ctx, nil, "https://sqs.us-east-1.amazonaws.com/123456789012/qiita-sqs", clk)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Config(); c.Namespace != "SQS/BACKLOG" || c.MetricName != "backlogpertask" || len(c.Dimensions) != 1 || c.Dimensions[0].Value != "qiita-sqs" {
		t.Fatalf("default config %+v", c)
	}
	_, err = newCloudWatchPublisher(ctx, map[string]any{"namespace": "AWS/SQS", "dimension": "x", "dimensions": []any{map[string]any{"Name": "Q"}}}, "", clk)
	for _, w := range []string{"cloudwatch.dimension: unknown setting of CloudWatch publishing", "cloudwatch.dimensions[0]: want {Name: ..., Value: ...}"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v, want it to contain %q", err, w)
		}
	}
}

// The example configurations in deploy/aws load and build their fleets
// through the registered kinds.
func TestDeployAWSConfigs(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"autoscale-ecs.yaml", "autoscale-asg.yaml"} {
		c, err := autoscale.LoadConfig("../../deploy/aws/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fleetKinds[c.Fleet.Kind](t.Context(), c.Fleet, clock.Real{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
