package helm

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/qscale/qscale/autoscale/k8sfleet/k8stest"
	"github.com/qscale/qscale/deploy/internal/chart"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
)

// cluster is the Kubernetes control plane the tests share (etcd,
// kube-apiserver, the controllers and KWOK's fake nodes).
var cluster *k8stest.Cluster

func TestMain(m *testing.M) {
	code := k8stest.Main(m, &cluster)
	qscalebin.Cleanup()
	os.Exit(code)
}

// fieldManager is the server-side apply field manager the test applies the
// chart as (helm itself is "helm").
const fieldManager = "qscale-chart-test"

// applier applies objects with server-side apply through the dynamic
// client, finding each kind's resource through discovery.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	ns     string
}

func newApplier(t *testing.T, ns string) *applier {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, mapper: restmapper.NewDiscoveryRESTMapper(groups), ns: ns}
}

func (a *applier) resource(u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gvk, err)
	}
	return a.dyn.Resource(m.Resource).Namespace(a.ns), nil
}

// apply applies u and returns the object as stored.
func (a *applier) apply(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	r, err := a.resource(u)
	if err != nil {
		return nil, err
	}
	return r.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: fieldManager})
}

// controlPlaneValues are the chart's values for the test: leader election,
// the qscale server StatefulSet, and an autoscaler quick enough for a test
// (ten messages per worker, no cooldowns), on the queue url.
const controlPlaneValues = `queue:
  url: %s
server:
  enabled: true
  insecureNoAuth: true
autoscaler:
  minCapacity: 0
  maxCapacity: 10
  interval: 200ms
  leaderElection:
    enabled: true
    leaseDuration: 4s
    renewDeadline: 3s
    retryPeriod: 500ms
  policies:
    - name: ten-per-worker
      targetTracking:
        TargetValue: 10
        ScaleOutCooldown: 0
        ScaleInCooldown: 0
`

// The chart on a real control plane: every object it renders (with leader
// election, the qscale server and the workers) is accepted by the API
// server through server-side apply; then the real `qscale autoscale`, run
// with the configuration the chart's ConfigMap holds and nothing but the
// permissions the chart's Role grants (its kubeconfig impersonates the
// chart's ServiceAccount), takes the chart's Lease and scales the chart's
// worker Deployment out on a burst of messages and back to zero; applying
// the chart again (an upgrade) leaves the size it set.
func TestChartOnControlPlane(t *testing.T) {
	t.Parallel()
	cl := k8stest.Need(t, cluster)
	ctx := t.Context()
	ns := cl.Namespace(t)
	dir := t.TempDir()

	endpoint := testserver.Start(t)
	queueURL := testserver.CreateQueue(t, endpoint, "jobs")
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, fmt.Appendf(nil, controlPlaneValues, queueURL), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := chart.Template(ctx, chart.NeedBin(t), t.TempDir(), chartDir, "jobs", "--namespace", ns, "--values", values)
	if err != nil {
		t.Fatal(err)
	}

	// Apply everything, in the order helm installs it.
	a := newApplier(t, ns)
	stored := map[string]*unstructured.Unstructured{} // by kind/name
	for _, d := range docs {
		u, err := a.apply(ctx, d.Object)
		if err != nil {
			t.Fatalf("server-side apply of %s (%s): %v", id(d.Object), d.Source, err)
		}
		stored[id(u)] = u
	}
	for _, want := range []string{
		"ServiceAccount/jobs-autoscaler", "Role/jobs-autoscaler", "RoleBinding/jobs-autoscaler",
		"ConfigMap/jobs-autoscaler", "Deployment/jobs-autoscaler", "Deployment/jobs-worker",
		"ConfigMap/jobs-server", "Service/jobs-server", "StatefulSet/jobs-server",
	} {
		if stored[want] == nil {
			t.Errorf("the chart rendered no %s (rendered: %d objects)", want, len(stored))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if !hasLeaseRule(stored["Role/jobs-autoscaler"], "jobs-worker-autoscaler") {
		t.Errorf("the Role grants no get/update on the Lease jobs-worker-autoscaler: %v", stored["Role/jobs-autoscaler"].Object["rules"])
	}
	if ip, _, _ := unstructured.NestedString(stored["Service/jobs-server"].Object, "spec", "clusterIP"); ip == "" {
		t.Errorf("the Service jobs-server got no cluster IP")
	}
	if n, _, _ := unstructured.NestedFieldNoCopy(stored["Deployment/jobs-autoscaler"].Object, "spec", "replicas"); n != int64(2) {
		t.Errorf("the autoscaler Deployment runs %v replicas, want 2 under leader election", n)
	}
	// The StatefulSet controller makes the server's claim from the
	// template: the template is one the cluster can act on.
	cl.Wait(t, 30*time.Second, "the StatefulSet's PersistentVolumeClaim data-jobs-server-0", func(ctx context.Context) (bool, error) {
		_, err := cl.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-jobs-server-0", metav1.GetOptions{})
		return err == nil, err
	})

	// qscale autoscale with the ConfigMap's configuration, as the chart's
	// ServiceAccount, in the release's namespace.
	cmData, _, _ := unstructured.NestedStringMap(stored["ConfigMap/jobs-autoscaler"].Object, "data")
	cfg := filepath.Join(dir, "qscale.yaml")
	if err := os.WriteFile(cfg, []byte(cmData["qscale.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfig := serviceAccountKubeconfig(t, cl, dir, ns, "jobs-autoscaler")
	p := qscalebin.Start(t, []string{"KUBECONFIG=" + kubeconfig, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test"},
		"autoscale", "--config", cfg, "--console", "off", "--log-level", "debug")
	waitReplicas := func(want int32) {
		t.Helper()
		cl.Wait(t, 60*time.Second, fmt.Sprintf("Deployment jobs-worker at %d ready replicas", want), func(ctx context.Context) (bool, error) {
			select {
			case <-p.Done():
				return false, fmt.Errorf("qscale autoscale exited: %v", p.Err())
			default:
			}
			d, err := cl.Client.AppsV1().Deployments(ns).Get(ctx, "jobs-worker", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			ok := d.Spec.Replicas != nil && *d.Spec.Replicas == want && d.Status.ReadyReplicas == want && d.Status.Replicas == want
			return ok, fmt.Errorf("spec %d, ready %d, pods %d", ptr.Deref(d.Spec.Replicas, -1), d.Status.ReadyReplicas, d.Status.Replicas)
		})
	}
	// The Deployment starts at Kubernetes' default of 1 (the chart leaves
	// replicas out); the empty queue takes it to 0.
	waitReplicas(0)
	lease, err := cl.Client.CoordinationV1().Leases(ns).Get(ctx, "jobs-worker-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's Lease: %v", err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h == "" {
		t.Errorf("the Lease jobs-worker-autoscaler has no holder while qscale autoscale scales")
	}

	for i := range 30 {
		testserver.Call(t, endpoint, url.Values{"Action": {"SendMessage"}, "QueueUrl": {queueURL}, "MessageBody": {fmt.Sprint("job ", i)}})
	}
	waitReplicas(3)
	// An upgrade applies the chart again: the size stays the autoscaler's.
	for _, d := range docs {
		if _, err := a.apply(ctx, d.Object); err != nil {
			t.Fatalf("apply %s again: %v", id(d.Object), err)
		}
	}
	d, err := cl.Client.AppsV1().Deployments(ns).Get(ctx, "jobs-worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("applying the chart again set the worker Deployment's replicas to %v, want the autoscaler's 3", r)
	}

	// Workers take 20 messages: 10 stay visible, 3.33 per worker, and
	// target tracking's scale-in (ceil(3 × 3.33 / 9), AWS's 10 % tolerance)
	// asks 2. That scale-in ranks the pods first: it annotates them.
	for range 2 {
		testserver.Call(t, endpoint, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {queueURL}, "MaxNumberOfMessages": {"10"}, "VisibilityTimeout": {"600"}})
	}
	waitReplicas(2)
	testserver.Call(t, endpoint, url.Values{"Action": {"PurgeQueue"}, "QueueUrl": {queueURL}})
	waitReplicas(0)
	if strings.Contains(strings.ToLower(p.Output()), "forbidden") {
		t.Errorf("qscale autoscale was refused something with the chart's RBAC (\"forbidden\" in its output)")
	}
}

func id(u *unstructured.Unstructured) string { return u.GetKind() + "/" + u.GetName() }

// hasLeaseRule reports whether role grants get and update on the Lease
// named lease.
func hasLeaseRule(role *unstructured.Unstructured, lease string) bool {
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		r, _ := r.(map[string]any)
		groups, _, _ := unstructured.NestedStringSlice(r, "apiGroups")
		names, _, _ := unstructured.NestedStringSlice(r, "resourceNames")
		verbs, _, _ := unstructured.NestedStringSlice(r, "verbs")
		if strings.Join(groups, ",") == "coordination.k8s.io" && strings.Join(names, ",") == lease && strings.Join(verbs, ",") == "get,update" {
			return true
		}
	}
	return false
}

// serviceAccountKubeconfig writes a kubeconfig for the control plane whose
// context is namespace ns and whose user impersonates the ServiceAccount
// sa of ns: a process using it has that account's permissions only.
func serviceAccountKubeconfig(t *testing.T, cl *k8stest.Cluster, dir, ns, sa string) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(cl.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kctx := kc.Contexts[kc.CurrentContext]
	if kctx == nil {
		t.Fatalf("the control plane's kubeconfig has no context %q", kc.CurrentContext)
	}
	kctx.Namespace = ns
	kc.AuthInfos[kctx.AuthInfo].Impersonate = "system:serviceaccount:" + ns + ":" + sa
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	// The kubeconfig has the account's permissions, not the
	// administrator's: reading a Secret is refused.
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing Secrets as %s: %v, want forbidden", sa, err)
	}
	return path
}
