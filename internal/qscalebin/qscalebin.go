// Package qscalebin gives tests that run qscale as a process (servers,
// workers, qscale up) the binary: built once per test binary from
// ./cmd/qscale, or the one the environment variable QSCALE_BIN names.
package qscalebin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once  sync.Once
	path  string
	dir   string // what Cleanup removes; empty for QSCALE_BIN
	built error
)

// Build returns the binary, building it on the first call (without debug
// information, which links faster). For TestMain, where there is no test
// to fail.
func Build() (string, error) {
	once.Do(func() {
		if bin := os.Getenv("QSCALE_BIN"); bin != "" {
			path = bin
			return
		}
		d, err := os.MkdirTemp("", "qscale-bin-")
		if err != nil {
			built = err
			return
		}
		dir, path = d, filepath.Join(d, "qscale")
		out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", path, "github.com/qscale/qscale/cmd/qscale").CombinedOutput()
		if err != nil {
			built = fmt.Errorf("go build ./cmd/qscale: %v\n%s", err, out)
		}
	})
	return path, built
}

// Path is Build for a test: a failed build fails it.
func Path(tb testing.TB) string {
	tb.Helper()
	p, err := Build()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Cleanup removes a binary Build made; call it at the end of TestMain.
func Cleanup() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}
