package k8sfleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/k8sfleet/k8stest"
	"github.com/qscale/qscale/worker/workerstatus"
)

// workerStatuses stands in for the workers' status endpoints. KWOK's pods
// run no containers, so each pod's GET /status is served by a real HTTP
// server on 127.0.0.1 of its own, found by pod name, and read through the
// production HTTPStatus reader (the pod's IP swapped for 127.0.0.1).
type workerStatuses struct {
	mu      sync.Mutex // guards servers
	servers map[string]*statusServer
	reads   int // status reads served, under mu
}

type statusServer struct {
	srv  *httptest.Server
	port int

	mu    sync.Mutex // guards state, since
	state string
	since time.Time
}

func newWorkerStatuses(t *testing.T) *workerStatuses {
	ws := &workerStatuses{servers: map[string]*statusServer{}}
	t.Cleanup(func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		for _, s := range ws.servers {
			s.srv.Close()
		}
	})
	return ws
}

// server returns pod's status server, started idle on first use.
func (ws *workerStatuses) server(pod string) *statusServer {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if s, ok := ws.servers[pod]; ok {
		return s
	}
	s := &statusServer{state: "idle", since: time.Now()}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		ws.mu.Lock()
		ws.reads++
		ws.mu.Unlock()
		s.mu.Lock()
		doc := map[string]any{"version": 1, "state": s.state, "since": s.since, "in_flight": 0, "now": time.Now()}
		if s.state == "busy" {
			doc["in_flight"] = 1
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	s.port, _ = strconv.Atoi(port)
	ws.servers[pod] = s
	return s
}

func (s *statusServer) set(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.since = state, time.Now()
}

// ReadStatus implements k8sfleet.StatusReader through the production HTTP
// reader, pointed at the pod's server on loopback.
func (ws *workerStatuses) ReadStatus(ctx context.Context, pod *corev1.Pod) (workerstatus.Report, error) {
	s := ws.server(pod.Name)
	local := pod.DeepCopy()
	local.Status.PodIP = "127.0.0.1"
	return k8sfleet.HTTPStatus{Port: s.port}.ReadStatus(ctx, local)
}

func (ws *workerStatuses) readCount() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.reads
}

// workerDeployment is a Deployment of n fake workers: KWOK makes its pods
// Running and Ready as soon as they are scheduled.
func workerDeployment(name string, n int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	grace := int64(30)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "worker", Image: "qscale:test",
						Args: []string{"worker", "--status-addr", ":9090"},
					}},
				},
			},
		},
	}
}

type fixture struct {
	cl     *k8stest.Cluster
	client kubernetes.Interface
	ns     string
	name   string
	labels string // the pods' label selector
	status *workerStatuses
	fleet  *k8sfleet.Fleet
}

// setup makes a namespace with an empty worker Deployment and a fleet on it.
func setup(t *testing.T) *fixture {
	t.Helper()
	cl := k8stest.Need(t, cluster)
	fx := &fixture{cl: cl, client: cl.Client, ns: cl.Namespace(t), name: "workers", labels: "app=workers", status: newWorkerStatuses(t)}
	if _, err := fx.client.AppsV1().Deployments(fx.ns).Create(t.Context(), workerDeployment(fx.name, 0), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	f, err := k8sfleet.New(k8sfleet.Config{Client: fx.client, Namespace: fx.ns, Name: fx.name, Status: fx.status})
	if err != nil {
		t.Fatal(err)
	}
	fx.fleet = f
	return fx
}

// pods lists the Deployment's pods, terminating ones included.
func (fx *fixture) pods(ctx context.Context) ([]corev1.Pod, error) {
	l, err := fx.client.CoreV1().Pods(fx.ns).List(ctx, metav1.ListOptions{LabelSelector: fx.labels})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// settle waits until the fleet reports Desired == Running and exactly that
// many pods exist, all Ready: every pod asked for runs and every removed
// one is gone.
func (fx *fixture) settle(t *testing.T) {
	t.Helper()
	fx.cl.Wait(t, 60*time.Second, "the deployment to settle", func(ctx context.Context) (bool, error) {
		s, err := fx.fleet.State(ctx)
		if err != nil {
			return false, err
		}
		if s.Running != s.Desired || s.Starting != 0 {
			return false, fmt.Errorf("state %+v", s)
		}
		pods, err := fx.pods(ctx)
		if err != nil {
			return false, err
		}
		ready := 0
		for i := range pods {
			if pods[i].DeletionTimestamp == nil && isReady(&pods[i]) {
				ready++
			}
		}
		if len(pods) != s.Desired || ready != s.Desired {
			return false, fmt.Errorf("state %+v, %d pods, %d ready", s, len(pods), ready)
		}
		return true, nil
	})
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// markBusy makes n ready pods' workers busy and returns a function counting
// how many of those pods still exist and are not terminating.
func (fx *fixture) markBusy(t *testing.T, n int) func() int {
	t.Helper()
	pods, err := fx.pods(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Pick the pods the ReplicaSet would remove first on its own: among pods
	// of equal deletion cost it removes those on the most crowded node
	// first. So without deletion costs, a scale-in would remove these.
	byNode := map[string][]string{}
	for i := range pods {
		if isReady(&pods[i]) && pods[i].DeletionTimestamp == nil {
			byNode[pods[i].Spec.NodeName] = append(byNode[pods[i].Spec.NodeName], pods[i].Name)
		}
	}
	nodes := slices.Collect(maps.Keys(byNode))
	slices.SortFunc(nodes, func(a, b string) int { return len(byNode[b]) - len(byNode[a]) })
	var busy []string
	for _, nd := range nodes {
		for _, p := range byNode[nd] {
			if len(busy) < n {
				busy = append(busy, p)
				fx.status.server(p).set("busy")
			}
		}
	}
	if len(busy) != n {
		t.Fatalf("only %d ready pods to mark busy, want %d", len(busy), n)
	}
	return func() int {
		pods, err := fx.pods(context.WithoutCancel(t.Context()))
		if err != nil {
			t.Errorf("list pods: %v", err)
			return 0
		}
		alive := 0
		for _, p := range pods {
			for _, b := range busy {
				if p.Name == b && p.DeletionTimestamp == nil {
					alive++
				}
			}
		}
		return alive
	}
}

// idleAll makes every worker idle: their messages are done.
func (fx *fixture) idleAll() {
	fx.status.mu.Lock()
	servers := slices.Collect(maps.Values(fx.status.servers))
	fx.status.mu.Unlock()
	for _, s := range servers {
		s.set("idle")
	}
}
