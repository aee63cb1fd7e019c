package ecsfleet_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/qscale/qscale/autoscale/ecsfleet"
	"github.com/qscale/qscale/autoscale/fleettest"
	"github.com/qscale/qscale/worker/workerstatus"
)

// simECS is a small ECS service over the JSON protocol with the behaviour
// moto lacks: tasks that exist, scale-in protection, and a scale-in that
// stops unprotected tasks only, oldest first (so an unprotected scale-in
// would stop the workers MarkBusy picks). Each task's worker status is
// served by the same handler at the task's IP. It exists to run the whole
// conformance suite, idle-first test included, through the fleet's real
// requests; the exact requests are asserted in TestScaleInProtection.
type simECS struct {
	mu      sync.Mutex // guards all below
	desired int
	tasks   []*simTask
	nextIP  int
}

type simTask struct {
	arn, ip   string
	protected bool
	busy      bool
}

func (s *simECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if host, _, _ := net.SplitHostPort(r.Host); strings.HasPrefix(host, "10.") {
		s.status(w, host)
		return
	}
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
	var in struct {
		Tasks             []string
		ProtectionEnabled bool
		DesiredCount      *int
	}
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out any
	switch action {
	case "DescribeServices":
		out = map[string]any{"services": []any{map[string]any{
			"serviceName": "svc", "status": "ACTIVE", "desiredCount": s.desired, "runningCount": len(s.tasks), "pendingCount": 0,
		}}}
	case "ListTasks":
		var arns []string
		for _, t := range s.tasks {
			arns = append(arns, t.arn)
		}
		out = map[string]any{"taskArns": arns}
	case "DescribeTasks":
		var tasks []any
		for _, t := range s.tasks {
			if slices.Contains(in.Tasks, t.arn) {
				tasks = append(tasks, map[string]any{"taskArn": t.arn, "lastStatus": "RUNNING", "attachments": []any{map[string]any{
					"type": "ElasticNetworkInterface", "details": []any{map[string]any{"name": "privateIPv4Address", "value": t.ip}},
				}}})
			}
		}
		out = map[string]any{"tasks": tasks}
	case "UpdateTaskProtection":
		for _, t := range s.tasks {
			if slices.Contains(in.Tasks, t.arn) {
				t.protected = in.ProtectionEnabled
			}
		}
		out = map[string]any{}
	case "UpdateService":
		s.desired = *in.DesiredCount
		for len(s.tasks) < s.desired {
			s.nextIP++
			s.tasks = append(s.tasks, &simTask{arn: fmt.Sprintf("arn:task/%d", s.nextIP), ip: fmt.Sprintf("10.0.0.%d", s.nextIP)})
		}
		for i := 0; len(s.tasks) > s.desired && i < len(s.tasks); {
			if s.tasks[i].protected {
				i++
				continue
			}
			s.tasks = slices.Delete(s.tasks, i, i+1)
		}
		out = map[string]any{"service": map[string]any{"serviceName": "svc"}}
	default:
		http.Error(w, "unknown action "+action, 400)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func (s *simECS) status(w http.ResponseWriter, ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks {
		if t.ip == ip {
			rep := workerstatus.Report{Version: workerstatus.Version, State: workerstatus.Idle}
			if t.busy {
				rep.State, rep.InFlight = workerstatus.Busy, 1
			}
			json.NewEncoder(w).Encode(rep)
			return
		}
	}
	http.Error(w, "no such task", 502)
}

// The conformance suite, idle-first test included, through the fleet's
// real ECS requests and status reads.
func TestConformanceSimulatedECS(t *testing.T) {
	t.Parallel()
	fleettest.Run(t, func(t *testing.T) fleettest.Harness {
		sim := &simECS{}
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
		f, err := ecsfleet.New(client, ecsfleet.Options{
			Cluster: "jobs", Service: "svc",
			Busy: &ecsfleet.StatusReader{Port: 8081, Client: routedClient(srv.Listener.Addr().String())},
		})
		if err != nil {
			t.Fatal(err)
		}
		return fleettest.Harness{
			Fleet:  f,
			Settle: func(*testing.T) {}, // the simulated service acts inside UpdateService
			MarkBusy: func(t *testing.T, n int) func() int {
				sim.mu.Lock()
				var busy []string
				for _, task := range sim.tasks[:n] {
					task.busy = true
					busy = append(busy, task.arn)
				}
				sim.mu.Unlock()
				return func() int {
					sim.mu.Lock()
					defer sim.mu.Unlock()
					alive := 0
					for _, task := range sim.tasks {
						if slices.Contains(busy, task.arn) {
							alive++
						}
					}
					return alive
				}
			},
		}
	})
}
