// Package chart renders qscale's Helm chart (deploy/helm/qscale) with the
// helm binary and decodes what it renders: the chart's tests, the check
// that deploy/kubernetes is the chart rendered, and the command that
// regenerates deploy/kubernetes share it.
package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// HelmEnv names the helm binary; scripts/test builds helm from the Go
// module proxy into ~/.cache/qscale and sets it.
const HelmEnv = "QSCALE_HELM"

// HelmVersion is the helm release scripts/test builds into
// ~/.cache/qscale/helm-HelmVersion/helm.
const HelmVersion = "v3.22.0"

// ErrNoHelm is returned (wrapped) by Bin when no helm binary is found.
var ErrNoHelm = errors.New("helm is not installed")

// Bin returns the helm binary: $QSCALE_HELM, else helm on PATH, else the
// one scripts/test builds in ~/.cache/qscale.
func Bin() (string, error) {
	if p := os.Getenv(HelmEnv); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("helm")
	if err != nil {
		if home, herr := os.UserHomeDir(); herr == nil {
			cached := filepath.Join(home, ".cache", "qscale", "helm-"+HelmVersion, "helm")
			if fi, serr := os.Stat(cached); serr == nil && fi.Mode()&0o111 != 0 {
				return cached, nil
			}
		}
		return "", fmt.Errorf("%w: scripts/test builds it into ~/.cache/qscale and sets %s", ErrNoHelm, HelmEnv)
	}
	return p, nil
}

// NeedBin is Bin for a test: without helm the test fails when CI=true and
// skips otherwise.
func NeedBin(tb testing.TB) string {
	tb.Helper()
	p, err := Bin()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	return p
}

// Helm runs the helm binary bin with args, with caches and configuration of
// its own under tmp (nothing of the user's is read or written), and
// returns its combined output.
func Helm(ctx context.Context, bin, tmp string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+path.Join(tmp, "cache"), "HELM_CONFIG_HOME="+path.Join(tmp, "config"), "HELM_DATA_HOME="+path.Join(tmp, "data"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Doc is one rendered object.
type Doc struct {
	// Source is the template it came from, without its directory
	// (worker.yaml).
	Source string
	// Text is the object as rendered, comments included, without helm's
	// "# Source:" line.
	Text string
	// Object is the decoded object.
	Object *unstructured.Unstructured
}

// Template renders the chart in dir as release name with helm template and
// extra arguments (--values FILE, --set K=V, --namespace NS).
func Template(ctx context.Context, bin, tmp, dir, name string, args ...string) ([]Doc, error) {
	out, err := Helm(ctx, bin, tmp, append([]string{"template", name, dir}, args...)...)
	if err != nil {
		return nil, err
	}
	return Split(out)
}

// Split decodes helm template's output: documents separated by "---"
// lines, each led by a "# Source: CHART/templates/FILE" comment.
// Documents holding no object are left out.
func Split(out string) ([]Doc, error) {
	var docs []Doc
	for raw := range strings.SplitSeq("\n"+out, "\n---\n") {
		var d Doc
		var text []string
		for line := range strings.SplitSeq(raw, "\n") {
			if src, ok := strings.CutPrefix(line, "# Source: "); ok && d.Source == "" {
				d.Source = path.Base(src)
				continue
			}
			text = append(text, line)
		}
		d.Text = strings.TrimSpace(strings.Join(text, "\n")) + "\n"
		obj, err := Decode([]byte(d.Text))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Source, err)
		}
		if obj == nil {
			continue
		}
		d.Object = obj
		docs = append(docs, d)
	}
	return docs, nil
}

// Decode decodes one YAML document into an object; a document of comments
// only is nil.
func Decode(doc []byte) (*unstructured.Unstructured, error) {
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetKind() == "" || u.GetAPIVersion() == "" {
		return nil, fmt.Errorf("an object without kind or apiVersion:\n%s", doc)
	}
	return u, nil
}

// DecodeFile decodes every object of a manifest file (documents separated
// by "---" lines).
func DecodeFile(name string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for doc := range bytes.SplitSeq(append([]byte("\n"), data...), []byte("\n---\n")) {
		// The separator took the document's last line break, which a
		// block scalar ending the document keeps.
		u, err := Decode(append(doc, '\n'))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}
