package k8sfleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
)

// autoscaleProc is a `qscale autoscale` process started by a test.
type autoscaleProc struct {
	name string
	*qscalebin.Process
}

// startAutoscale runs `qscale autoscale --config cfg` in its own process
// group; it is stopped when the test ends.
func startAutoscale(t *testing.T, name, cfg string) *autoscaleProc {
	t.Helper()
	return &autoscaleProc{name: name, Process: qscalebin.Start(t, nil, "autoscale", "--config", cfg, "--log-level", "debug", "--log-format", "json")}
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Time    time.Time `json:"time"`
	Msg     string    `json:"msg"`
	To      int       `json:"to"`
	Applied bool      `json:"applied"`
	Error   string    `json:"error"`
}

// lines returns the process's JSON log lines (others are skipped).
func (p *autoscaleProc) lines() []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// scales returns the times of the scale calls the process made that
// succeeded.
func (p *autoscaleProc) scales() []logLine {
	var out []logLine
	for _, l := range p.lines() {
		if l.Msg == "autoscale scale" && l.Applied {
			out = append(out, l)
		}
	}
	return out
}

func (p *autoscaleProc) logged(msg string) bool { return p.count(msg) > 0 }

// count is how many log lines say msg.
func (p *autoscaleProc) count(msg string) int {
	n := 0
	for _, l := range p.lines() {
		if l.Msg == msg {
			n++
		}
	}
	return n
}

// replicaWatch records every change of a Deployment's spec.replicas, as
// the API server reports it.
type replicaWatch struct {
	mu      sync.Mutex // guards changes
	changes []replicaChange
}

type replicaChange struct {
	at       time.Time
	replicas int32
}

func watchReplicas(t *testing.T, fx *fixture) *replicaWatch {
	t.Helper()
	w, err := fx.client.AppsV1().Deployments(fx.ns).Watch(t.Context(), metav1.ListOptions{FieldSelector: "metadata.name=" + fx.name})
	if err != nil {
		t.Fatal(err)
	}
	rw := &replicaWatch{}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		last := int32(-1)
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || ev.Type == watch.Deleted || d.Spec.Replicas == nil || *d.Spec.Replicas == last {
				continue
			}
			last = *d.Spec.Replicas
			rw.mu.Lock()
			rw.changes = append(rw.changes, replicaChange{at: time.Now(), replicas: last})
			rw.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop(); <-stopped })
	return rw
}

func (rw *replicaWatch) list() []replicaChange {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return append([]replicaChange(nil), rw.changes...)
}

// leaderConfig writes a qscale autoscale configuration for fx's
// Deployment with leader election, identity id and target tracking at
// perWorker messages per worker.
func leaderConfig(t *testing.T, fx *fixture, queueURL, id string, perWorker int) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), id+".yaml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, `fleets:
  - queue:
      url: %s
    kubernetes:
      kubeconfig: %s
      namespace: %s
      deployment: %s
      leaderElection:
        identity: %s
        leaseDuration: 3s
        renewDeadline: 2s
        retryPeriod: 500ms
    minCapacity: 0
    maxCapacity: 20
    interval: 200ms
    policies:
      - targetTracking:
          TargetValue: %d
          ScaleOutCooldown: 0
          ScaleInCooldown: 0
`, queueURL, fx.cl.Kubeconfig, fx.ns, fx.name, id, perWorker), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitLeaseRenewals waits until the Lease's renewTime has changed n times
// from now.
func waitLeaseRenewals(t *testing.T, fx *fixture, lease string, n int) {
	t.Helper()
	var last string
	seen := -1
	fx.cl.Wait(t, 20*time.Second, fmt.Sprintf("%d renewals of the Lease", n), func(ctx context.Context) (bool, error) {
		l, err := fx.client.CoordinationV1().Leases(fx.ns).Get(ctx, lease, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if rt := renewTime(l); rt != last {
			last = rt
			seen++
		}
		return seen >= n, nil
	})
}

func renewTime(l *coordinationv1.Lease) string {
	if l.Spec.RenewTime == nil {
		return ""
	}
	return l.Spec.RenewTime.Format(time.RFC3339Nano)
}

// leaderFixture makes a Deployment, a queue holding 30 messages, and the
// configurations of two autoscalers of the same fleet that disagree on
// the size: a at 10 messages per worker (3 workers), b at 5 (6 workers).
// Were both acting at once, they would fight, and the Deployment's
// replicas would flip between 3 and 6.
func leaderFixture(t *testing.T) (fx *fixture, cfgA, cfgB string) {
	t.Helper()
	fx = setup(t)
	endpoint := testserver.Start(t)
	queueURL := testserver.CreateQueue(t, endpoint, "jobs")
	for i := range 30 {
		testserver.Call(t, endpoint, url.Values{"Action": {"SendMessage"}, "QueueUrl": {queueURL}, "MessageBody": {fmt.Sprint("job ", i)}})
	}
	return fx, leaderConfig(t, fx, queueURL, "a", 10), leaderConfig(t, fx, queueURL, "b", 5)
}

// waitReplicas waits for the Deployment's spec.replicas to be n, failing
// early if one of procs exits.
func waitReplicas(t *testing.T, fx *fixture, timeout time.Duration, n int, procs ...*autoscaleProc) {
	t.Helper()
	fx.cl.Wait(t, timeout, fmt.Sprintf("replicas %d", n), func(ctx context.Context) (bool, error) {
		for _, p := range procs {
			select {
			case <-p.Done():
				return false, fmt.Errorf("qscale autoscale %s exited: %v", p.name, p.Err())
			default:
			}
		}
		sc, err := fx.client.AppsV1().Deployments(fx.ns).GetScale(ctx, fx.name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return int(sc.Spec.Replicas) == n, nil
	})
}

// Two `qscale autoscale` processes with leader election on the same
// Deployment: a leads and scales to its 3; b waits, and acts not once
// while a holds the Lease; a is killed with SIGKILL (no release): b takes
// the Lease once it expires and scales to its 6 within 20 s. Every scale
// call of each process (its decision log) and every change of the
// Deployment's replicas (a watch) shows one actor at a time.
func TestLeaderElectionFailover(t *testing.T) {
	t.Parallel()
	fx, cfgA, cfgB := leaderFixture(t)
	changes := watchReplicas(t, fx)

	a := startAutoscale(t, "a", cfgA)
	waitReplicas(t, fx, 30*time.Second, 3, a)
	b := startAutoscale(t, "b", cfgB)
	fx.cl.Wait(t, 20*time.Second, "b waiting for the lease", func(context.Context) (bool, error) {
		return b.logged("leader election: waiting for the lease"), nil
	})
	// b tries every 500 ms: let it try several times while a renews.
	waitLeaseRenewals(t, fx, fx.name+"-autoscaler", 6)
	if b.logged("leader election: leading") || len(b.scales()) > 0 {
		t.Fatalf("b leads or scaled while a holds the lease")
	}

	killedAt := time.Now()
	if err := syscall.Kill(-a.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.Done()
	waitReplicas(t, fx, 20*time.Second, 6, b)
	took := time.Since(killedAt)
	t.Logf("b scaled %s after a was killed", took.Round(time.Millisecond))

	// b logs its scale call once the API server has answered it, so the
	// watch may see the change first: wait for the line.
	fx.cl.Wait(t, 10*time.Second, "b's scale call in its log", func(context.Context) (bool, error) {
		return len(b.scales()) > 0, nil
	})
	as, bs := a.scales(), b.scales()
	if len(as) == 0 || len(bs) == 0 {
		t.Fatalf("scale calls: a %d, b %d; want both to have scaled", len(as), len(bs))
	}
	if lastA, firstB := as[len(as)-1].Time, bs[0].Time; !firstB.After(killedAt) || !lastA.Before(killedAt) {
		t.Errorf("acting intervals overlap: a scaled until %s, b from %s, a killed at %s", lastA, firstB, killedAt)
	}
	for _, l := range as {
		if l.To != 3 {
			t.Errorf("a scaled to %d, want 3", l.To)
		}
	}
	// The API server's view: 0 -> 3 while a led, 3 -> 6 after, nothing
	// else (a fight would flip between 3 and 6).
	var seq []int32
	for _, c := range changes.list() {
		seq = append(seq, c.replicas)
		if c.replicas == 6 && c.at.Before(killedAt) {
			t.Errorf("replicas set to b's 6 at %s, before a was killed at %s", c.at, killedAt)
		}
	}
	if got := fmt.Sprint(seq); got != "[0 3 6]" && got != "[3 6]" {
		t.Errorf("replicas went %s, want 0, 3, 6", got)
	}
}

// A leader paused past its renew deadline (SIGSTOP) loses the Lease to b,
// which scales; when a wakes it does not scale again: it notices it lost
// the Lease, stops its controller and waits.
func TestLeaderElectionPausedLeaderDoesNotAct(t *testing.T) {
	t.Parallel()
	fx, cfgA, cfgB := leaderFixture(t)
	changes := watchReplicas(t, fx)

	a := startAutoscale(t, "a", cfgA)
	waitReplicas(t, fx, 30*time.Second, 3, a)
	b := startAutoscale(t, "b", cfgB)
	fx.cl.Wait(t, 20*time.Second, "b waiting for the lease", func(context.Context) (bool, error) {
		return b.logged("leader election: waiting for the lease"), nil
	})
	if err := syscall.Kill(-a.Cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, fx, 20*time.Second, 6, b)
	resumedAt := time.Now()
	if err := syscall.Kill(-a.Cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	fx.cl.Wait(t, 20*time.Second, "a to notice it lost the lease", func(context.Context) (bool, error) {
		return a.logged("leader election: lost the lease; stopped scaling"), nil
	})
	// b's controller ticks every 200 ms: wait for one more renewal by b,
	// then a's actions, if any, have reached the API server.
	waitLeaseRenewals(t, fx, fx.name+"-autoscaler", 2)
	for _, l := range a.scales() {
		if l.Time.After(resumedAt) {
			t.Errorf("a scaled to %d at %s, after it woke at %s without the lease", l.To, l.Time, resumedAt)
		}
	}
	var seq []int32
	for _, c := range changes.list() {
		seq = append(seq, c.replicas)
	}
	if got := fmt.Sprint(seq); got != "[0 3 6]" && got != "[3 6]" {
		t.Errorf("replicas went %s, want 0, 3, 6: a acted after its pause", got)
	}
	if n := a.count("leader election: waiting for the lease"); n < 2 {
		t.Errorf("a waited for the lease %d times, want 2: it should wait again after losing it", n)
	}
	t.Logf("a after waking: %d refused scale calls", a.refused())
}

// refused counts the decisions whose scale call the Lease refused.
func (p *autoscaleProc) refused() int {
	n := 0
	for _, l := range p.lines() {
		if l.Msg == "autoscale error" && strings.Contains(l.Error, "not leading") {
			n++
		}
	}
	return n
}

// A leader stopped with SIGTERM (a rolling update) stops its controller,
// releases the Lease and exits 0: the Lease names no holder, or already
// the follower, which takes over without waiting for it to expire, and
// scales.
func TestLeaderElectionSIGTERMReleasesTheLease(t *testing.T) {
	t.Parallel()
	fx, cfgA, cfgB := leaderFixture(t)
	a := startAutoscale(t, "a", cfgA)
	waitReplicas(t, fx, 30*time.Second, 3, a)
	b := startAutoscale(t, "b", cfgB)
	fx.cl.Wait(t, 20*time.Second, "b waiting for the lease", func(context.Context) (bool, error) {
		return b.logged("leader election: waiting for the lease"), nil
	})
	if err := syscall.Kill(a.Cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
		if err := a.Err(); err != nil {
			t.Fatalf("a exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a did not exit within 20 s of SIGTERM")
	}
	l, err := fx.client.CoordinationV1().Leases(fx.ns).Get(t.Context(), fx.name+"-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := l.Spec.HolderIdentity; h != nil && *h == "a" {
		t.Fatalf("the Lease still names a after it exited: not released")
	}
	// The controller stopped before the Lease went: no moment when b
	// leads while a's controller still runs.
	stopped, released := -1, -1
	for i, l := range a.lines() {
		switch l.Msg {
		case "autoscale stopped":
			stopped = i
		case "leader election: released the lease":
			released = i
		}
	}
	if stopped < 0 || released < stopped {
		t.Errorf("a's log: autoscale stopped at line %d, lease released at line %d; want the release after the stop", stopped, released)
	}
	waitReplicas(t, fx, 20*time.Second, 6, b)
}
