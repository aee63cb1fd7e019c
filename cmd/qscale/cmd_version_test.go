package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// qscale version and --version exit 0; extra arguments are a usage error.
func TestVersionExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"version"}, 0},
		{[]string{"--version"}, 0},
		{[]string{"-version"}, 0},
		{[]string{"version", "-h"}, 0},
		{[]string{"version", "extra"}, 2},
		{[]string{"version", "--short"}, 2},
	} {
		if got := run(tc.args); got != tc.want {
			t.Errorf("qscale %q: exit %d, want %d", tc.args, got, tc.want)
		}
	}
}

// The report names the version, the commit and its time, Go and the
// platform, and says when the commit is unknown or modified.
func TestVersionReport(t *testing.T) {
	t.Parallel()
	b := readBuildInfo()
	if b.Version == "" || b.GoVersion != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("readBuildInfo() = %+v", b)
	}
	for _, tc := range []struct {
		info buildInfo
		want []string
	}{
		{buildInfo{Version: "v1.2.3", Commit: "abc123", CommitTime: "2026-12-01T10:00:00Z", GoVersion: "go1.26.0", Platform: "linux/arm64"},
			[]string{"qscale v1.2.3\n", "commit:      abc123\n", "commit time: 2026-12-01T10:00:00Z\n", "go:          go1.26.0\n", "platform:    linux/arm64\n"}},
		{buildInfo{Version: "(devel)", Commit: "abc123", Modified: true, GoVersion: "go1.26.0", Platform: "darwin/amd64"},
			[]string{"qscale (devel)\n", "commit:      abc123 (modified)\n"}},
		{buildInfo{Version: "v0.1.0", GoVersion: "go1.26.0", Platform: "linux/amd64"},
			[]string{"commit:      unknown (built without VCS information)\n"}},
	} {
		var buf bytes.Buffer
		tc.info.write(&buf)
		for _, w := range tc.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%+v: report\n%s\nlacks %q", tc.info, buf.String(), w)
			}
		}
		if tc.info.CommitTime == "" && strings.Contains(buf.String(), "commit time") {
			t.Errorf("report with no commit time prints one:\n%s", buf.String())
		}
	}
}
