package ecsfleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/qscale/qscale/autoscale/ecsfleet"
	"github.com/qscale/qscale/worker/workerstatus"
)

// recordedECS answers the ECS JSON protocol for one service from a fixed
// list of tasks and records every request. moto implements neither
// UpdateTaskProtection nor tasks of services, so the requests the fleet
// sends for a scale-in are asserted here, as ECS documents them.
type recordedECS struct {
	t       *testing.T
	desired int
	tasks   []fakeTask
	// failProtect makes UpdateTaskProtection report this task as failed.
	failProtect string
	// throttle answers this many requests with ThrottlingException first.
	throttle int
	// updateErr is the error type UpdateService answers with, if set.
	updateErr string

	mu    sync.Mutex // guards calls, throttle, and desired and tasks while serving
	calls []call
}

type fakeTask struct {
	arn, status, ip string
}

type call struct {
	Action string
	Body   map[string]any
}

func (e *recordedECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, "AmazonEC2ContainerServiceV20141113.")
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		e.t.Errorf("not an ECS JSON request: target %q, content type %q", target, r.Header.Get("Content-Type"))
		http.Error(w, "bad request", 400)
		return
	}
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		e.t.Errorf("%s: body %q: %v", action, b, err)
	}
	e.mu.Lock()
	e.calls = append(e.calls, call{action, body})
	throttled := e.throttle > 0
	if throttled {
		e.throttle--
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if action == "UpdateService" && e.updateErr != "" {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":%q,"message":"refused"}`, e.updateErr)
		return
	}
	if throttled {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
		return
	}
	var out any
	e.mu.Lock()
	defer e.mu.Unlock()
	switch action {
	case "DescribeServices":
		running := 0
		for _, t := range e.tasks {
			if t.status == "RUNNING" {
				running++
			}
		}
		out = map[string]any{"services": []any{map[string]any{
			"serviceName": "svc", "status": "ACTIVE", "desiredCount": e.desired,
			"runningCount": running, "pendingCount": len(e.tasks) - running,
		}}, "failures": []any{}}
	case "ListTasks":
		// Two pages, to exercise paging.
		var arns []string
		for _, t := range e.tasks {
			arns = append(arns, t.arn)
		}
		half := len(arns) / 2
		if body["nextToken"] == nil {
			out = map[string]any{"taskArns": arns[:half], "nextToken": "page2"}
		} else {
			out = map[string]any{"taskArns": arns[half:]}
		}
	case "DescribeTasks":
		var tasks []any
		for _, a := range body["tasks"].([]any) {
			for _, t := range e.tasks {
				if t.arn == a {
					tasks = append(tasks, map[string]any{
						"taskArn": t.arn, "lastStatus": t.status, "desiredStatus": "RUNNING",
						"attachments": []any{map[string]any{"type": "ElasticNetworkInterface", "status": "ATTACHED", "details": []any{
							map[string]any{"name": "subnetId", "value": "subnet-1"},
							map[string]any{"name": "privateIPv4Address", "value": t.ip},
						}}},
					})
				}
			}
		}
		out = map[string]any{"tasks": tasks, "failures": []any{}}
	case "UpdateTaskProtection":
		var failures []any
		var protected []any
		for _, a := range body["tasks"].([]any) {
			if a == e.failProtect {
				failures = append(failures, map[string]any{"arn": a, "reason": "TASK_NOT_VALID", "detail": "stopping"})
				continue
			}
			protected = append(protected, map[string]any{"taskArn": a, "protectionEnabled": body["protectionEnabled"]})
		}
		out = map[string]any{"protectedTasks": protected, "failures": failures}
	case "UpdateService":
		if n, ok := body["desiredCount"].(float64); ok {
			e.desired = int(n)
		}
		out = map[string]any{"service": map[string]any{"serviceName": "svc", "status": "ACTIVE", "desiredCount": body["desiredCount"]}}
	default:
		e.t.Errorf("unexpected action %s", action)
	}
	json.NewEncoder(w).Encode(out)
}

// writes returns the recorded calls that change something, in order.
func (e *recordedECS) writes() []call {
	e.mu.Lock()
	defer e.mu.Unlock()
	var w []call
	for _, c := range e.calls {
		if c.Action == "UpdateTaskProtection" || c.Action == "UpdateService" {
			w = append(w, c)
		}
	}
	return w
}

func (e *recordedECS) count(action string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.calls {
		if c.Action == action {
			n++
		}
	}
	return n
}

// workerStatuses serves worker status documents as qscale workers do, one
// per task IP, and records which addresses were asked.
type workerStatuses struct {
	mu     sync.Mutex                    // guards states, asked
	states map[string]workerstatus.State // by IP; a missing IP answers 500
	asked  []string
}

func (s *workerStatuses) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.Host)
	s.mu.Lock()
	s.asked = append(s.asked, r.Host+r.URL.Path)
	st, ok := s.states[host]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "down", 500)
		return
	}
	// One Since for all: ties keep ListTasks' order, so requests are exact.
	rep := workerstatus.Report{Version: workerstatus.Version, State: st, Since: time.Unix(1_800_000_000, 0), Concurrency: 1}
	if st == workerstatus.Busy || st == workerstatus.Draining {
		rep.InFlight, rep.Running = 1, 1
	}
	json.NewEncoder(w).Encode(rep)
}

// routedClient sends every request to addr, whatever host its URL names:
// the tasks' private IPs all reach one test server.
func routedClient(addr string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func setupRecorded(t *testing.T, e *recordedECS, states map[string]workerstatus.State) (*ecsfleet.Fleet, *workerStatuses) {
	t.Helper()
	e.t = t
	ecsSrv := httptest.NewServer(e)
	t.Cleanup(ecsSrv.Close)
	ws := &workerStatuses{states: states}
	statusSrv := httptest.NewServer(ws)
	t.Cleanup(statusSrv.Close)
	client := ecs.New(ecs.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(ecsSrv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	f, err := ecsfleet.New(client, ecsfleet.Options{
		Cluster: "jobs", Service: "svc",
		Busy: &ecsfleet.StatusReader{Port: 8081, Client: routedClient(statusSrv.Listener.Addr().String())},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, ws
}

func wantCall(t *testing.T, got call, action string, body map[string]any) {
	t.Helper()
	if got.Action != action || !reflect.DeepEqual(got.Body, body) {
		t.Errorf("call %s %v\nwant %s %v", got.Action, got.Body, action, body)
	}
}

func list(s ...string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Before a scale-in, the fleet orders the tasks with workerstatus.Order,
// protects the tasks it keeps (here the one it could not read and the two
// holding a message) and unprotects the rest, then lowers desiredCount.
// Starting tasks are neither read nor protected: they come first in the
// order, so ECS stops them first among the unprotected.
func TestScaleInProtection(t *testing.T) {
	t.Parallel()
	e := &recordedECS{desired: 6, tasks: []fakeTask{
		{"arn:a", "RUNNING", "10.0.0.1"},
		{"arn:b", "RUNNING", "10.0.0.2"},
		{"arn:c", "RUNNING", "10.0.0.3"},
		{"arn:d", "RUNNING", "10.0.0.4"},
		{"arn:e", "PENDING", "10.0.0.5"},
		{"arn:f", "RUNNING", "10.0.0.6"},
	}}
	f, ws := setupRecorded(t, e, map[string]workerstatus.State{
		"10.0.0.1": workerstatus.Busy, "10.0.0.2": workerstatus.Idle, "10.0.0.3": workerstatus.Draining,
		"10.0.0.4": workerstatus.Idle, "10.0.0.5": workerstatus.Busy,
		// 10.0.0.6 answers 500: unknown
	})
	ctx := t.Context()
	if err := f.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	w := e.writes()
	if len(w) != 3 {
		t.Fatalf("writes %+v, want protect, unprotect, update", w)
	}
	wantCall(t, w[0], "UpdateTaskProtection", map[string]any{"cluster": "jobs", "tasks": list("arn:f", "arn:a", "arn:c"), "protectionEnabled": true, "expiresInMinutes": 10.0})
	wantCall(t, w[1], "UpdateTaskProtection", map[string]any{"cluster": "jobs", "tasks": list("arn:b", "arn:d"), "protectionEnabled": false})
	wantCall(t, w[2], "UpdateService", map[string]any{"cluster": "jobs", "service": "svc", "desiredCount": 3.0})
	if n := e.count("ListTasks"); n != 2 {
		t.Errorf("ListTasks called %d times, want 2 pages", n)
	}
	ws.mu.Lock()
	asked := strings.Join(ws.asked, " ")
	ws.mu.Unlock()
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.6"} {
		if !strings.Contains(asked, ip+":8081/status") {
			t.Errorf("status of %s not read; asked %s", ip, asked)
		}
	}
	if strings.Contains(asked, "10.0.0.5") {
		t.Errorf("read the status of a starting task: %s", asked)
	}
}

// A scale-out and a same-count call set no protection and list no tasks.
func TestScaleOutSetsNoProtection(t *testing.T) {
	t.Parallel()
	e := &recordedECS{desired: 2, tasks: []fakeTask{{"arn:a", "RUNNING", "10.0.0.1"}, {"arn:b", "RUNNING", "10.0.0.2"}}}
	f, _ := setupRecorded(t, e, nil)
	if err := f.SetDesired(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 5); err != nil {
		t.Fatal(err)
	}
	w := e.writes()
	if len(w) != 1 {
		t.Fatalf("writes %+v, want one UpdateService", w)
	}
	wantCall(t, w[0], "UpdateService", map[string]any{"cluster": "jobs", "service": "svc", "desiredCount": 5.0})
	if n := e.count("ListTasks"); n != 0 {
		t.Errorf("ListTasks called %d times on a scale-out", n)
	}
}

// When ECS cannot protect a task the fleet keeps, the scale-in does not
// happen: better no scale-in than a busy worker stopped.
func TestProtectionFailureStopsScaleIn(t *testing.T) {
	t.Parallel()
	e := &recordedECS{desired: 2, failProtect: "arn:a", tasks: []fakeTask{{"arn:a", "RUNNING", "10.0.0.1"}, {"arn:b", "RUNNING", "10.0.0.2"}}}
	f, _ := setupRecorded(t, e, map[string]workerstatus.State{"10.0.0.1": workerstatus.Busy, "10.0.0.2": workerstatus.Idle})
	err := f.SetDesired(t.Context(), 1)
	if err == nil || !strings.Contains(err.Error(), "arn:a: TASK_NOT_VALID") {
		t.Fatalf("SetDesired = %v, want the protection failure", err)
	}
	if n := e.count("UpdateService"); n != 0 {
		t.Fatalf("UpdateService called after a protection failure")
	}
}

// Throttling is retried by the SDK's retryer with backoff; the call
// succeeds once ECS answers.
func TestThrottlingRetried(t *testing.T) {
	t.Parallel()
	e := &recordedECS{desired: 1, throttle: 2, tasks: []fakeTask{{"arn:a", "RUNNING", "10.0.0.1"}}}
	e.t = t
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	f, err := ecsfleet.FromSettings(t.Context(), ecsfleet.Settings{Cluster: "jobs", Service: "svc", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.State(t.Context())
	if err != nil {
		t.Fatalf("State after two throttled answers: %v", err)
	}
	if s.Desired != 1 || s.Running != 1 {
		t.Fatalf("State = %+v", s)
	}
	if n := e.count("DescribeServices"); n != 3 {
		t.Fatalf("DescribeServices sent %d times, want 3 (two throttled)", n)
	}
}

// Errors an operator must fix say what to check.
func TestUpdateServiceErrorsExplained(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ errType, want string }{
		{"ServiceNotActiveException", "the service is draining or deleted"},
		{"AccessDeniedException", "deploy/aws/iam-ecs-fleet.json"},
		{"ClusterNotFoundException", "check the fleet settings cluster and service"},
	} {
		e := &recordedECS{desired: 1, updateErr: c.errType, tasks: []fakeTask{{"arn:a", "RUNNING", "10.0.0.1"}}}
		f, _ := setupRecorded(t, e, nil)
		err := f.SetDesired(t.Context(), 2)
		if err == nil || !strings.Contains(err.Error(), "UpdateService jobs/svc") || !strings.Contains(err.Error(), c.errType) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: SetDesired = %v, want the call, the error and %q", c.errType, err, c.want)
		}
	}
}
