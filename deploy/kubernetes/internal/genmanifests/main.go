// Command genmanifests writes deploy/kubernetes's raw manifests: the Helm
// chart deploy/helm/qscale rendered with deploy/kubernetes/values.yaml, one
// file per template. Run it from deploy/kubernetes (go generate does).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/qscale/qscale/deploy/kubernetes/internal/manifests"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "genmanifests:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	files, err := manifests.Render(ctx, ".")
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(f.Name, []byte(f.Text), 0o644); err != nil {
			return err
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	fmt.Println("genmanifests: wrote", strings.Join(names, ", "))
	return nil
}
