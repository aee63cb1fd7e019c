package k8sfleet_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/k8sfleet/k8stest"
	"github.com/qscale/qscale/config"
)

const manifestDir = "../../deploy/kubernetes"

// manifests decodes every object of deploy/kubernetes/<file>.
func manifests(t *testing.T, file string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(manifestDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, obj)
	}
	return out
}

// create creates obj in ns; dryRun asks the API server to validate and admit
// it without storing it.
func create(ctx context.Context, cs kubernetes.Interface, ns string, obj runtime.Object, dryRun bool) error {
	opts := metav1.CreateOptions{FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var err error
	switch o := obj.(type) {
	case *corev1.ServiceAccount:
		_, err = cs.CoreV1().ServiceAccounts(ns).Create(ctx, o, opts)
	case *corev1.ConfigMap:
		_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, o, opts)
	case *rbacv1.Role:
		_, err = cs.RbacV1().Roles(ns).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, o, opts)
	case *appsv1.Deployment:
		_, err = cs.AppsV1().Deployments(ns).Create(ctx, o, opts)
	case *appsv1.StatefulSet:
		_, err = cs.AppsV1().StatefulSets(ns).Create(ctx, o, opts)
	case *corev1.Service:
		_, err = cs.CoreV1().Services(ns).Create(ctx, o, opts)
	default:
		panic("manifest test: add a case for " + obj.GetObjectKind().GroupVersionKind().String())
	}
	return err
}

func TestManifestsApplyServerSide(t *testing.T) {
	t.Parallel()
	cl := k8stest.Need(t, cluster)
	ns := cl.Namespace(t)
	for _, file := range []string{"rbac.yaml", "autoscaler.yaml", "worker.yaml", "server.yaml"} {
		for _, obj := range manifests(t, file) {
			if err := create(t.Context(), cl.Client, ns, obj, true); err != nil {
				t.Errorf("%s: server-side dry run of %T: %v", file, obj, err)
			}
		}
	}
}

// The autoscaler's ConfigMap is a valid qscale configuration whose fleet
// names the worker Deployment and the port its workers serve /status on.
func TestManifestConfigMatchesWorker(t *testing.T) {
	t.Parallel()
	var cm *corev1.ConfigMap
	var auto *appsv1.Deployment
	for _, obj := range manifests(t, "autoscaler.yaml") {
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			cm = o
		case *appsv1.Deployment:
			auto = o
		}
	}
	worker := manifests(t, "worker.yaml")[0].(*appsv1.Deployment)
	cfg, err := config.Parse([]byte(cm.Data["qscale.yaml"]), ".", config.ForAutoscale)
	if err != nil {
		t.Fatalf("the ConfigMap's qscale.yaml: %v", err)
	}
	f := cfg.Fleets[0]
	if _, err := f.BuildPolicies(); err != nil {
		t.Fatalf("the ConfigMap's policies: %v", err)
	}
	s := f.Kubernetes
	if s == nil {
		t.Fatalf("fleet of kind %q, want kubernetes", f.Kind())
	}
	if s.Deployment != worker.Name {
		t.Errorf("the autoscaler scales Deployment %q, the worker manifest is Deployment %s", s.Deployment, worker.Name)
	}
	c := worker.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--status-addr=:"+strconv.Itoa(s.StatusPort)) || c.Ports[0].ContainerPort != int32(s.StatusPort) {
		t.Errorf("statusPort %d does not match the worker's args %q and port %d", s.StatusPort, c.Args, c.Ports[0].ContainerPort)
	}
	args := auto.Spec.Template.Spec.Containers[0].Args
	if !slices.Equal(args[:2], []string{"autoscale", "--config"}) || !strings.HasPrefix(args[2], auto.Spec.Template.Spec.Containers[0].VolumeMounts[0].MountPath+"/") {
		t.Errorf("the autoscaler runs %q", args)
	}
}

// warnings records the fleet's warnings.
type warnings struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *warnings) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *warnings) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// With only the permissions of rbac.yaml (the test impersonates the
// autoscaler's service account), the fleet scales the worker Deployment out
// and in, annotating pods on the way; and those permissions allow nothing
// more than that.
func TestRBACIsEnoughAndNoMore(t *testing.T) {
	t.Parallel()
	cl := k8stest.Need(t, cluster)
	ctx := t.Context()
	ns := cl.Namespace(t)
	for _, obj := range append(manifests(t, "rbac.yaml"), manifests(t, "worker.yaml")...) {
		if err := create(ctx, cl.Client, ns, obj, false); err != nil {
			t.Fatalf("create %T: %v", obj, err)
		}
	}
	sa := rest.CopyConfig(cl.Config)
	sa.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":qscale-autoscaler"}
	cs, err := kubernetes.NewForConfig(sa)
	if err != nil {
		t.Fatal(err)
	}
	var warn warnings
	status := newWorkerStatuses(t)
	f, err := k8sfleet.New(k8sfleet.Config{
		Client: cs, Namespace: ns, Name: "qscale-worker", Status: status,
		Logger: slog.New(slog.NewTextHandler(&warn, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{cl: cl, client: cl.Client, ns: ns, name: "qscale-worker", labels: "app.kubernetes.io/name=qscale-worker", status: status, fleet: f}
	if err := f.SetDesired(ctx, 3); err != nil {
		t.Fatalf("scale out as the service account: %v", err)
	}
	fx.settle(t)
	before := status.readCount() // State reads them too (the busy floor)
	if err := f.SetDesired(ctx, 1); err != nil {
		t.Fatalf("scale in as the service account: %v", err)
	}
	if w := warn.String(); w != "" {
		t.Fatalf("the fleet could not do all it needs with rbac.yaml's permissions: %s", w)
	}
	if n := status.readCount() - before; n != 3 {
		t.Errorf("the scale-in read %d worker statuses, want 3", n)
	}
	fx.settle(t)

	for _, ra := range []authv1.ResourceAttributes{
		{Namespace: ns, Verb: "delete", Resource: "pods"},
		{Namespace: ns, Verb: "create", Resource: "pods"},
		{Namespace: ns, Verb: "update", Group: "apps", Resource: "deployments", Name: "qscale-worker"},
		{Namespace: ns, Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale", Name: "other"},
		{Namespace: ns, Verb: "get", Resource: "secrets"},
		{Namespace: "default", Verb: "list", Resource: "pods"},
	} {
		r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authv1.SelfSubjectAccessReview{
			Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed {
			t.Errorf("the autoscaler's service account may %s %s/%s %q in %s: more than it needs", ra.Verb, ra.Resource, ra.Subresource, ra.Name, ra.Namespace)
		}
	}
}
