// Package k8stest starts a real Kubernetes control plane for tests: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (which
// plays the kubelets: fake nodes whose pods become Ready without running
// containers). The binaries come from scripts/k8s-toolchain.sh, which builds
// them once per machine into a cache outside the repository.
//
// Start it once per test binary, from TestMain:
//
//	var cluster *k8stest.Cluster
//
//	func TestMain(m *testing.M) { os.Exit(k8stest.Main(m, &cluster)) }
//
// Every process runs in its own process group, listens on 127.0.0.1 only
// and is stopped by its process group id when the tests end.
package k8stest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/lifeline"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Version is the Kubernetes release the toolchain builds.
const Version = "v1.33.13"

// Binaries are the programs the cluster needs in BinDir.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// SkipEnv, set to 1, makes Main run the tests without a cluster (each test
// that needs one skips) instead of failing when the binaries are absent.
const SkipEnv = "QSCALE_SKIP_K8S"

// BinDir is where scripts/k8s-toolchain.sh puts the binaries:
// $QSCALE_K8S_CACHE/bin, by default ~/.cache/qscale/k8s-v1.33.13/bin.
func BinDir() string {
	cache := os.Getenv("QSCALE_K8S_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache", "qscale", "k8s-"+Version)
	}
	return filepath.Join(cache, "bin")
}

// Missing lists the binaries absent from BinDir.
func Missing() []string {
	var out []string
	for _, b := range Binaries {
		if fi, err := os.Stat(filepath.Join(BinDir(), b)); err != nil || fi.Mode()&0o111 == 0 {
			out = append(out, b)
		}
	}
	return out
}

// Cluster is a running control plane.
type Cluster struct {
	// Config is an administrator's (system:masters) client configuration.
	Config *rest.Config
	// Client is a clientset on Config.
	Client kubernetes.Interface
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
	// Dir holds certificates, data and one log file per process.
	Dir string
	// StartedIn is how long Start took, to the first schedulable node.
	StartedIn time.Duration

	procs []*proc // in start order
	keep  bool    // keep Dir: a start or a test failed
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when cmd.Wait returns
	err  error         // set before done is closed
}

// Main starts a cluster, stores it in *c, runs the tests and stops the
// cluster. Use it as os.Exit(k8stest.Main(m, &cluster)). Without the
// binaries it fails with a message naming scripts/k8s-toolchain.sh, unless
// QSCALE_SKIP_K8S=1, when *c stays nil and tests calling Need skip.
func Main(m *testing.M, c **Cluster) int {
	if missing := Missing(); len(missing) > 0 {
		if os.Getenv(SkipEnv) == "1" {
			fmt.Fprintf(os.Stderr, "k8stest: %s=1 and %s missing from %s: Kubernetes tests skip\n", SkipEnv, strings.Join(missing, ", "), BinDir())
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "FAIL: k8stest: the Kubernetes test control plane is not built: %s missing from %s.\n"+
			"Run scripts/k8s-toolchain.sh once (about 7 minutes), or set %s=1 to skip the Kubernetes tests.\n",
			strings.Join(missing, ", "), BinDir(), SkipEnv)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cl, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: k8stest: starting the control plane: %v\n", err)
		return 1
	}
	*c = cl
	fmt.Fprintf(os.Stderr, "k8stest: Kubernetes %s control plane up in %s (%s)\n", Version, cl.StartedIn.Round(10*time.Millisecond), cl.Dir)
	code := m.Run()
	fmt.Fprintf(os.Stderr, "k8stest: peak memory %s\n", cl.PeakMemory())
	if code != 0 {
		fmt.Fprintf(os.Stderr, "k8stest: control plane logs in %s\n", cl.Dir)
		cl.keep = true
	}
	cl.Stop()
	return code
}

// Need returns c or skips the test when Main ran without a cluster.
func Need(t testing.TB, c *Cluster) *Cluster {
	t.Helper()
	if c == nil {
		t.Skipf("no Kubernetes control plane (%s=1)", SkipEnv)
	}
	return c
}

// Start starts the control plane and returns once the API server is ready,
// the controllers run and KWOK's two nodes (1,000 pods each) are Ready.
func Start(ctx context.Context) (_ *Cluster, err error) {
	t0 := time.Now()
	dir, err := os.MkdirTemp("", "qscale-k8stest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			c.keep = true
			c.Stop()
			err = fmt.Errorf("%w (logs in %s)", err, dir)
		}
	}()
	pki, err := writePKI(dir)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	apiURL := "https://127.0.0.1:" + strconv.Itoa(ports[2])

	if err := c.start("etcd",
		"--name=qscale", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=qscale="+peerURL,
		"--unsafe-no-fsync", "--quota-backend-bytes=4294967296", "--log-level=warn",
	); err != nil {
		return nil, err
	}
	if err := c.start("kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(ports[2]),
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+pki.serverCert, "--tls-private-key-file="+pki.serverKey,
		"--client-ca-file="+pki.caCert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki.saPub, "--service-account-signing-key-file="+pki.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		// KWOK's nodes are Ready at once; without the node lifecycle
		// controller nothing would lift the not-ready taint this plugin adds.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--endpoint-reconciler-type=none",
		"--max-requests-inflight=2000", "--max-mutating-requests-inflight=1000",
		"--enable-priority-and-fairness=false",
		"--profiling=false", "--v=1",
	); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, apiURL, pki); err != nil {
		return nil, err
	}
	c.Kubeconfig = kubeconfig
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 500, 1000
	c.Config = cfg
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	if err := c.start("kube-controller-manager",
		"--kubeconfig="+kubeconfig,
		"--leader-elect=false", "--secure-port=0",
		"--controllers=deployment,replicaset,statefulset,serviceaccount,serviceaccount-token,namespace,garbagecollector,root-ca-cert-publisher",
		"--service-account-private-key-file="+pki.saKey, "--root-ca-file="+pki.caCert,
		"--use-service-account-credentials=false",
		"--kube-api-qps=1000", "--kube-api-burst=2000",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
		"--concurrent-namespace-syncs=5", "--concurrent-gc-syncs=20",
		"--profiling=false", "--v=1",
	); err != nil {
		return nil, err
	}
	schedCfg := filepath.Join(dir, "scheduler.yaml")
	if err := os.WriteFile(schedCfg, fmt.Appendf(nil, schedulerConfig, kubeconfig), 0o600); err != nil {
		return nil, err
	}
	if err := c.start("kube-scheduler", "--config="+schedCfg, "--secure-port=0", "--profiling=false", "--v=1"); err != nil {
		return nil, err
	}
	stages := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages), 0o600); err != nil {
		return nil, err
	}
	if err := c.start("kwok",
		"--kubeconfig="+kubeconfig, "--config="+stages,
		"--manage-all-nodes=true", "--cidr=10.240.0.1/16", "--node-ip=10.239.0.1",
		"--server-address=127.0.0.1:0",
	); err != nil {
		return nil, err
	}
	if err := c.addNodes(ctx, 2); err != nil {
		return nil, err
	}
	if err := c.waitServiceAccount(ctx, "default"); err != nil {
		return nil, err
	}
	c.StartedIn = time.Since(t0)
	return c, nil
}

// start runs one binary from BinDir in its own process group, its output
// in Dir/<name>.log.
func (c *Cluster) start(name string, args ...string) error {
	logPath := filepath.Join(c.Dir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(BinDir(), name), args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Dir = c.Dir
	// Its own process group, killed by the kernel should the tests die;
	// lifeline forks from a thread that lives as long as the process (the
	// parent-death signal follows the forking thread, not the process).
	if err := lifeline.Start(cmd, syscall.SIGKILL); err != nil {
		lf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return nil
}

// Exited returns an error naming any process of the cluster that has exited.
func (c *Cluster) Exited() error {
	for _, p := range c.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v; last lines of %s:\n%s", p.name, p.err, p.log, tail(p.log, 20))
		default:
		}
	}
	return nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// PeakMemory describes each process's peak resident memory (VmHWM) and
// their sum.
func (c *Cluster) PeakMemory() string {
	var parts []string
	total := 0
	for _, p := range c.procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				total += kb
				parts = append(parts, fmt.Sprintf("%s %d MiB", p.name, kb/1024))
			}
		}
	}
	return fmt.Sprintf("%d MiB: %s", total/1024, strings.Join(parts, ", "))
}

// Stop stops every process by its process group id (SIGTERM, then SIGKILL
// after 5 s), newest first, and removes Dir unless a start or a test failed.
// It is idempotent.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	c.procs = nil
	if !c.keep && c.Dir != "" {
		_ = os.RemoveAll(c.Dir)
		c.Dir = ""
	}
}

// poll calls cond every 50 ms until it returns true or an error, ctx ends,
// or a process of the cluster exits.
func (c *Cluster) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if err := c.Exited(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) waitReady(ctx context.Context) error {
	return c.poll(ctx, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", err
	})
}

func (c *Cluster) addNodes(ctx context.Context, n int) error {
	for i := range n {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        fmt.Sprintf("kwok-node-%d", i),
				Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": fmt.Sprintf("kwok-node-%d", i)},
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			},
			Status: corev1.NodeStatus{
				Allocatable: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("1Ti"),
					corev1.ResourcePods: resource.MustParse("1000"),
				},
				Capacity: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("1Ti"),
					corev1.ResourcePods: resource.MustParse("1000"),
				},
			},
		}
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node: %w", err)
		}
	}
	return c.poll(ctx, "KWOK nodes Ready", func(ctx context.Context) (bool, error) {
		nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, nd := range nodes.Items {
			for _, cond := range nd.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == n, nil
	})
}

func (c *Cluster) waitServiceAccount(ctx context.Context, ns string) error {
	return c.poll(ctx, "ServiceAccount "+ns+"/default", func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

// Namespace creates a namespace for one test, waits for its default
// ServiceAccount (pods cannot be created before it exists) and deletes it
// when the test ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	ctx := t.Context()
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "qscale-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		err := c.Client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.waitServiceAccount(wctx, ns.Name); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// Wait polls cond every 50 ms until it holds, failing the test after
// timeout with what's description and cond's last error.
func (c *Cluster) Wait(t testing.TB, timeout time.Duration, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if err := c.poll(ctx, what, cond); err != nil {
		t.Fatal(err)
	}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

const schedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 1000
  burst: 2000
leaderElection:
  leaderElect: false
`

// kwokStages tell KWOK how fake nodes and pods move: a node becomes Ready at
// once; a scheduled pod becomes Running and Ready at once with an IP from
// --cidr; a pod being deleted is removed at once.
const kwokStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: kwok node is ready
        reason: KubeletReady
        status: "True"
        type: Ready
      addresses:
      - address: {{ NodeIP | Quote }}
        type: InternalIP
      - address: {{ NodeName | Quote }}
        type: Hostname
      allocatable:
      {{ YAML .status.allocatable 1 }}
      capacity:
      {{ YAML .status.capacity 1 }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: kwok
        containerRuntimeVersion: kwok
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ with NodeIPsWith .spec.nodeName }}
      hostIP: {{ index . 0 | Quote }}
      {{ end }}
      {{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`
