package kubernetes_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qscale/qscale/deploy/internal/chart"
	"github.com/qscale/qscale/deploy/kubernetes/internal/manifests"
)

const regenerate = "go generate ./deploy/kubernetes"

// The raw manifests are the chart rendered with values.yaml: the same
// objects (comments and formatting aside), file for file, and no manifest
// the chart does not render.
func TestManifestsAreTheChartRendered(t *testing.T) {
	t.Parallel()
	chart.NeedBin(t)
	files, err := manifests.Render(t.Context(), ".")
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]bool{"values.yaml": true}
	for _, f := range files {
		rendered[f.Name] = true
		got, err := chart.DecodeFile(f.Name)
		if os.IsNotExist(err) {
			t.Errorf("%s is missing: the chart renders it; run %s", f.Name, regenerate)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := manifests.Diff(f.Objects, got); d != "" {
			t.Errorf("%s is not the chart rendered with values.yaml; run %s\n%s", f.Name, regenerate, d)
		}
	}
	all, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range all {
		if !rendered[name] {
			t.Errorf("%s is not rendered by the chart: remove it, or add its template and run %s", name, regenerate)
		}
	}
	if len(files) < 4 {
		t.Errorf("the chart rendered %d files with values.yaml, want rbac, autoscaler, worker and server", len(files))
	}
}

// Diff sees a changed, a missing and an extra field, and an object too many,
// and ignores what does not change the objects.
func TestDiff(t *testing.T) {
	t.Parallel()
	want, err := chart.DecodeFile("worker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d := manifests.Diff(want, want); d != "" {
		t.Fatalf("an object differs from itself: %s", d)
	}
	edit := func(f func(m map[string]any)) string {
		got, err := chart.DecodeFile("worker.yaml")
		if err != nil {
			t.Fatal(err)
		}
		f(got[0].Object)
		return manifests.Diff(want, got)
	}
	spec := func(m map[string]any) map[string]any { return m["spec"].(map[string]any) }
	for name, tc := range map[string]struct {
		edit func(map[string]any)
		want string
	}{
		"changed": {func(m map[string]any) { spec(m)["replicas"] = int64(3) }, "spec.replicas: want nothing, got 3"},
		"missing": {func(m map[string]any) { delete(spec(m), "selector") }, "spec.selector: want map"},
		"value":   {func(m map[string]any) { m["metadata"].(map[string]any)["name"] = "other" }, "metadata.name: want qscale-worker, got other"},
	} {
		if d := edit(tc.edit); !strings.Contains(d, tc.want) {
			t.Errorf("%s: Diff = %q, want it to say %q", name, d, tc.want)
		}
	}
	if d := manifests.Diff(want, append(want, want[0])); !strings.Contains(d, "extra Deployment/qscale-worker") {
		t.Errorf("an extra object: Diff = %q", d)
	}
	// Comments and layout are not the objects.
	reformatted := filepath.Join(t.TempDir(), "worker.yaml")
	data, err := os.ReadFile("worker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(reformatted, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := chart.DecodeFile(reformatted)
	if err != nil {
		t.Fatal(err)
	}
	if d := manifests.Diff(want, got); d != "" {
		t.Errorf("the file without its comments differs: %s", d)
	}
}
