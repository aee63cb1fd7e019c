// Package helm holds the checks of qscale's Helm chart (deploy/helm/qscale).
package helm

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/deploy/internal/chart"
)

const chartDir = "qscale"

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return chart.Helm(t.Context(), chart.NeedBin(t), t.TempDir(), args...)
}

// The chart passes helm lint --strict.
func TestChartLints(t *testing.T) {
	t.Parallel()
	if out, err := helm(t, "lint", "--strict", chartDir); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// The rendered chart is Kubernetes objects whose autoscaler configuration
// is a valid qscale configuration naming the worker Deployment, its status
// port and qscale's image.
func TestChartRenders(t *testing.T) {
	t.Parallel()
	out, err := helm(t, "template", "jobs", chartDir, "--set", "worker.statusPort=9191")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var cm *corev1.ConfigMap
	deployments := map[string]*appsv1.Deployment{}
	kinds := map[string]int{}
	for doc := range strings.SplitSeq(out, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		kinds[gvk.Kind]++
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			cm = o
		case *appsv1.Deployment:
			deployments[o.Name] = o
		}
	}
	for kind, n := range map[string]int{"ConfigMap": 1, "Deployment": 2, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1} {
		if kinds[kind] != n {
			t.Errorf("%d %s objects rendered, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}
	worker, auto := deployments["jobs-worker"], deployments["jobs-autoscaler"]
	if cm == nil || worker == nil || auto == nil {
		t.Fatalf("rendered no ConfigMap or no jobs-worker and jobs-autoscaler Deployments: %v", kinds)
	}
	cfg, err := config.Parse([]byte(cm.Data["qscale.yaml"]), ".", config.ForAutoscale)
	if err != nil {
		t.Fatalf("the ConfigMap's qscale.yaml: %v\n%s", err, cm.Data["qscale.yaml"])
	}
	f := cfg.Fleets[0]
	if _, err := f.BuildPolicies(); err != nil {
		t.Fatalf("the ConfigMap's policies: %v", err)
	}
	if f.Kubernetes == nil || f.Kubernetes.Deployment != worker.Name || f.Kubernetes.StatusPort != 9191 {
		t.Fatalf("the autoscaler's fleet is %+v, want Deployment %s with status port 9191", f.Kubernetes, worker.Name)
	}
	c := worker.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--status-addr=:"+strconv.Itoa(f.Kubernetes.StatusPort)) || c.Ports[0].ContainerPort != 9191 {
		t.Errorf("the worker's args %q and port %d do not match status port 9191", c.Args, c.Ports[0].ContainerPort)
	}
	if worker.Spec.Replicas != nil {
		t.Errorf("the worker Deployment sets replicas: an upgrade would reset the autoscaler's size")
	}
	if img := auto.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/qscale/qscale:v0.1.0" {
		t.Errorf("the autoscaler runs image %q, want qscale's image tagged with the chart's appVersion", img)
	}
}

// values.schema.json and the templates refuse values that cannot work.
func TestChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		set  []string
		want string // in helm's error
	}{
		{[]string{"--set", "worker.statusPort=0"}, "/worker/statusPort"},
		{[]string{"--set", "queue.url=jobs"}, "/queue/url"},
		{[]string{"--set", "autoscaler.minCapacity=10", "--set", "autoscaler.maxCapacity=5"}, "minCapacity must not exceed"},
		{[]string{"--set", "worker.handler=null"}, "handler"},
		{[]string{"--set", "autoscaler.replicas=2"}, "replicas"}, // not a setting
		{[]string{"--set", "server.enabled=true"}, "server.accessKeySecret must name a Secret"},
		{[]string{"--set", "autoscaler.leaderElection.leaseDuration=15"}, "/autoscaler/leaderElection/leaseDuration"},
	} {
		out, err := helm(t, append([]string{"template", "jobs", chartDir}, tc.set...)...)
		if err == nil {
			t.Errorf("helm template %q succeeded:\n%.300s", tc.set, out)
		} else if !strings.Contains(out, tc.want) {
			t.Errorf("helm template %q failed without naming %q:\n%s", tc.set, tc.want, out)
		}
	}
}
