package fleets_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/fleets"
	"github.com/qscale/qscale/autoscale/localfleet"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/internal/clock"
)

// fleetOf parses a one-fleet file whose fleet has the given kind section
// (and cloudwatch section, if any), defaults applied.
func fleetOf(t *testing.T, section string) config.Fleet {
	t.Helper()
	c, err := config.Parse([]byte(`fleets:
  - queue: {url: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}
    maxCapacity: 5
    policies: [{targetTracking: {TargetValue: 100}}]
    `+section+"\n"), t.TempDir(), config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	return c.Fleets[0]
}

// Every kind a file may give (but qscale up's worker: shorthand) has a
// builder.
func TestEveryKindIsBuilt(t *testing.T) {
	t.Parallel()
	want := slices.Clone(config.Kinds)
	want = slices.DeleteFunc(want, func(k string) bool { return k == config.KindWorker })
	slices.Sort(want)
	if got := fleets.Kinds(); !slices.Equal(got, want) {
		t.Fatalf("kinds built %v, kinds a file may give %v", got, want)
	}
	_, err := fleets.Build(t.Context(), config.Fleet{Worker: &config.Worker{}}, "fleets[0]", fleets.Env{})
	if err == nil || !strings.Contains(err.Error(), "fleets[0].worker: the worker: shorthand is expanded by qscale up") {
		t.Fatalf("worker: %v", err)
	}
}

// Build starts nothing: the local fleet refuses a count until the caller
// starts it, once.
func TestLocalIsBuiltNotStarted(t *testing.T) {
	t.Parallel()
	f, err := fleets.Build(t.Context(), fleetOf(t, `local: {command: [qscale, worker], statusDir: "`+t.TempDir()+`"}`), "fleets[0]",
		fleets.Env{Executable: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != config.KindLocal || f.Local() == nil {
		t.Fatalf("fleet %+v", f)
	}
	if err := f.SetDesired(t.Context(), 0); !errors.Is(err, localfleet.ErrNotStarted) {
		t.Fatalf("SetDesired before Start: %v, want ErrNotStarted", err)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(t.Context()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// The fleet runs on the clock it is handed: a memory fleet's workers become
// ready after startDelay of that clock.
func TestMemoryGetsTheClock(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, err := fleets.Build(t.Context(), fleetOf(t, "memory: {startDelay: 30s}"), "fleets[0]", fleets.Env{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.State(t.Context()); s.Size() != (autoscale.FleetState{Desired: 2, Starting: 2}) {
		t.Fatalf("at once: %+v", s)
	}
	clk.Advance(30 * time.Second)
	if s, _ := f.State(t.Context()); s.Size() != (autoscale.FleetState{Desired: 2, Running: 2}) {
		t.Fatalf("30 s later: %+v", s)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatalf("Start of a fleet without a lifecycle: %v", err)
	}
}

// The settings reach the fleet: an ECS fleet built from a file calls the
// endpoint it names, for the cluster and service it names.
func TestECSFromSettings(t *testing.T) {
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
	f, err := fleets.Build(t.Context(), fleetOf(t, `ecs: {cluster: jobs, service: workers, region: eu-west-1, endpoint: "`+srv.URL+`", statusPort: 8081, protectionExpiry: 30m}`),
		"fleets[0]", fleets.Env{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() != (autoscale.FleetState{Desired: 3, Running: 2, Starting: 1}) {
		t.Fatalf("State = %+v", s)
	}
	if req := <-got; req != `AmazonEC2ContainerServiceV20141113.DescribeServices {"cluster":"jobs","services":["workers"]}` {
		t.Fatalf("request %s", req)
	}
}

func TestKubernetesFromSettings(t *testing.T) {
	t.Parallel()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: prod
  context: {cluster: c, user: u, namespace: jobs}
current-context: prod
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		section, wantErr, want string
	}{
		{`{kubeconfig: "` + kubeconfig + `", deployment: w}`, "", "Deployment jobs/w"},
		{`{kubeconfig: "` + kubeconfig + `", context: prod, statefulset: w, statusPort: 8080, namespace: other, qps: 50}`, "", "StatefulSet other/w"},
		{`{kubeconfig: "` + kubeconfig + `", deployment: w, context: nope}`, `fleets[0].kubernetes.context: no context "nope" in the kubeconfig`, ""},
		{`{kubeconfig: "` + filepath.Join(t.TempDir(), "absent") + `", deployment: w}`, "fleets[0].kubernetes.kubeconfig:", ""},
	} {
		f, err := fleets.Build(t.Context(), fleetOf(t, "kubernetes: "+tc.section), "fleets[0]", fleets.Env{})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.section, err)
		case tc.wantErr == "" && fmt.Sprint(f.Fleet) != tc.want:
			t.Errorf("%s: fleet %v, want %s", tc.section, f.Fleet, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", tc.section, err, tc.wantErr)
		}
	}
}

func TestPublisherFromSettings(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := fleets.Env{Clock: clk}
	p, err := fleets.BuildPublisher(t.Context(), fleetOf(t, `memory: {}
    cloudwatch: {namespace: Jobs, metricName: BacklogPerWorker, dimensions: {Queue: jobs, Env: prod}, unit: None, raw: true, period: 10s, region: eu-west-1, protocol: query}`),
		"fleets[0]", env)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Config()
	if c.Namespace != "Jobs" || c.MetricName != "BacklogPerWorker" || c.Unit != "None" || !c.Raw || c.Period != 10*time.Second ||
		len(c.Dimensions) != 2 || c.Dimensions[0].Name != "Env" || c.Dimensions[1].Value != "jobs" {
		t.Fatalf("config %+v", c)
	}
	// Seed 000's metric by default.
	p, err = fleets.BuildPublisher(t.Context(), fleetOf(t, "memory: {}\n    cloudwatch: {}"), "fleets[0]", env)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Config(); c.Namespace != "SQS/BACKLOG" || c.MetricName != "backlogpertask" || c.Period != time.Minute || len(c.Dimensions) != 1 || c.Dimensions[0].Value != "jobs" {
		t.Fatalf("default config %+v", c)
	}
	// The unit is checked against the SDK's list when the publisher is
	// built, so qscale autoscale --check finds it.
	_, err = fleets.BuildPublisher(t.Context(), fleetOf(t, "memory: {}\n    cloudwatch: {unit: Parsecs}"), "fleets[0]", env)
	if err == nil || !strings.Contains(err.Error(), `fleets[0].cloudwatch: cwpublish: unit "Parsecs" is not a CloudWatch unit`) {
		t.Fatalf("a bad unit: %v", err)
	}
	if p, err := fleets.BuildPublisher(t.Context(), fleetOf(t, "memory: {}"), "fleets[0]", env); p != nil || err != nil {
		t.Fatalf("no cloudwatch section: %v, %v", p, err)
	}
}
