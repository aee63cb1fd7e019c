package mototest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/qscale/qscale/internal/mototest"
)

// Under CI=true a missing moto_server fails the test; elsewhere it skips.
// The test runs itself as a child process with an empty PATH, so it checks
// both verdicts whether or not moto is installed here.
func TestMissingMotoFailsUnderCI(t *testing.T) {
	if os.Getenv("MOTOTEST_CHILD") == "1" {
		mototest.StartT(t)
		return
	}
	t.Parallel()
	for _, tc := range []struct {
		ci       string
		wantFail bool
		say      string
	}{
		{"true", true, "--- FAIL"},
		{"", false, "--- SKIP"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingMotoFailsUnderCI$", "-test.v")
		cmd.Env = append(os.Environ(), "MOTOTEST_CHILD=1", "PATH=", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail || !strings.Contains(string(out), tc.say) || !strings.Contains(string(out), "moto_server is not on PATH") {
			t.Errorf("CI=%q: err %v, output:\n%s\nwant %s", tc.ci, err, out, tc.say)
		}
	}
}
