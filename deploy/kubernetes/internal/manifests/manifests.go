// Package manifests renders deploy/kubernetes's raw manifests from the Helm
// chart: what go generate writes and what the drift test compares with.
package manifests

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/qscale/qscale/deploy/internal/chart"
)

// Release is the release name the manifests are rendered as: objects are
// named qscale-worker, qscale-autoscaler, qscale-server.
const Release = "qscale"

// Header leads every rendered file.
const Header = `# Rendered from the Helm chart deploy/helm/qscale with values.yaml by
# go generate ./deploy/kubernetes: change the chart or values.yaml, then
# regenerate; a test fails when this file and the chart differ.

`

// File is one manifest file: the objects of one template.
type File struct {
	Name    string // rbac.yaml
	Text    string // the file's content
	Objects []*unstructured.Unstructured
}

// Render renders the chart with dir/values.yaml (dir is deploy/kubernetes)
// into one File per template, in the order helm renders them.
func Render(ctx context.Context, dir string) ([]File, error) {
	bin, err := chart.Bin()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "qscale-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	docs, err := chart.Template(ctx, bin, tmp, filepath.Join(dir, "..", "helm", "qscale"), Release,
		"--values", filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	var files []File
	index := map[string]int{}
	for _, d := range docs {
		i, ok := index[d.Source]
		if !ok {
			i = len(files)
			index[d.Source] = i
			files = append(files, File{Name: d.Source})
		}
		f := &files[i]
		f.Objects = append(f.Objects, d.Object)
		if len(f.Objects) > 1 {
			f.Text += "---\n"
		}
		f.Text += d.Text
	}
	for i := range files {
		files[i].Text = Header + strings.TrimSuffix(files[i].Text, "\n") + "\n"
	}
	return files, nil
}

// Diff describes how want and got differ, one line per differing field
// (kind/name.path: want X, got Y), or "" when they are the same objects in
// the same order. Comments, key order and formatting do not count.
func Diff(want, got []*unstructured.Unstructured) string {
	var out []string
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			out = append(out, fmt.Sprintf("missing %s", id(want[i])))
		case i >= len(want):
			out = append(out, fmt.Sprintf("extra %s", id(got[i])))
		default:
			out = append(out, diffValue(id(want[i]), want[i].Object, got[i].Object)...)
		}
	}
	return strings.Join(out, "\n")
}

func id(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetName()
}

func diffValue(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			out = append(out, diffValue(path+"."+k, w[k], g[k])...)
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: want nothing, got %v", path, k, g[k]))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		var out []string
		for i := range w {
			out = append(out, diffValue(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if reflect.DeepEqual(want, got) {
		return nil
	}
	return []string{fmt.Sprintf("%s: want %v, got %v", path, want, got)}
}
