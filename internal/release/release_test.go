package release

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the checkout this test runs in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "release")); err != nil {
		t.Fatalf("no scripts/release in %s: %v", root, err)
	}
	return root
}

// copyTree copies the files git knows in root (tracked and untracked, not
// ignored) into dst, so that a second build runs from another directory.
func copyTree(t *testing.T, root, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// release runs scripts/release in dir for this machine's platform.
func release(t *testing.T, dir, out, version, commit string) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(dir, "scripts", "release"), "-o", out, "-p", runtime.GOOS+"/"+runtime.GOARCH, version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "QSCALE_COMMIT="+commit, "QSCALE_COMMIT_TIME=2026-01-02T03:04:05Z")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release in %s: %v\n%s", dir, err, b)
	}
}

// Two release builds of the same source, from two directories, are
// byte-identical, SHA256SUMS checks them, and the binary reports the
// version, commit and platform it was built for. It builds one platform
// (this machine's) so that it can run the result; -short skips it.
func TestReleaseReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds qscale twice; skipped with -short")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to list the source files")
	}
	t.Parallel()
	root := repoRoot(t)
	const version, commit = "v0.0.0-reprotest", "0123456789abcdef0123456789abcdef01234567"
	out1, out2, copyDir := t.TempDir(), t.TempDir(), t.TempDir()
	copyTree(t, root, copyDir)
	release(t, root, out1, version, commit)
	release(t, copyDir, out2, version, commit)

	name := "qscale_" + version + "_" + runtime.GOOS + "_" + runtime.GOARCH
	a, err := os.ReadFile(filepath.Join(out1, name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out2, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s built in %s and in %s differ (%d and %d bytes)", name, root, copyDir, len(a), len(b))
	}
	if bytes.Contains(a, []byte(root)) || bytes.Contains(b, []byte(copyDir)) {
		t.Errorf("%s contains the directory it was built in (-trimpath missing)", name)
	}
	sums, err := os.ReadFile(filepath.Join(out1, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sums), "  "+name+"\n") {
		t.Errorf("SHA256SUMS does not list %s:\n%s", name, sums)
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = out1
	if b, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, b)
	}

	got, err := exec.Command(filepath.Join(out1, name), "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", name, err)
	}
	for _, want := range []string{"qscale " + version + "\n", "commit:      " + commit + "\n", "commit time: 2026-01-02T03:04:05Z\n", "platform:    " + runtime.GOOS + "/" + runtime.GOARCH + "\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s version printed\n%s\nwithout %q", name, got, want)
		}
	}
	if info, err := exec.Command("go", "version", "-m", filepath.Join(out1, name)).Output(); err != nil {
		t.Errorf("go version -m: %v", err)
	} else if !strings.Contains(string(info), "CGO_ENABLED=0") || !strings.Contains(string(info), "-trimpath=true") {
		t.Errorf("%s is not a static -trimpath build:\n%s", name, info)
	}
}
