package release

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// The binary links the typed Kubernetes clients of the API groups qscale
// uses only (apps/v1, core/v1, coordination/v1), not the clientset of
// every group: the Kubernetes fleet and its leader election build those
// clients alone (docs/benchmarks.md, "Binary size"). -short skips it.
func TestOnlyUsedKubernetesClientsLinked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds qscale; skipped with -short")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "qscale")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/qscale")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	typed := regexp.MustCompile(`k8s\.io/client-go/kubernetes/typed/([a-z0-9]+/v[a-z0-9]+)\.`)
	groups := map[string]int{}
	for _, s := range syms {
		if m := typed.FindStringSubmatch(s.Name); m != nil {
			groups[m[1]]++
		}
	}
	want := []string{"apps/v1", "coordination/v1", "core/v1"}
	for g, n := range groups {
		if !slices.Contains(want, g) {
			t.Errorf("the binary links %d symbols of the typed client of %s, an API group qscale does not use", n, g)
		}
	}
	for _, g := range want {
		if groups[g] == 0 {
			t.Errorf("no symbol of the typed client of %s: the check looks for the wrong names", g)
		}
	}
}
