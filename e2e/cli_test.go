package e2e

import (
	"testing"
	"time"
)

// TestAWSCLI runs a basic cycle and the common errors through Debian's
// awscli 2.9 (query protocol) and pyenv's aws-cli 1.45 (JSON protocol).
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, aws, protocol string }{
		{"query/debian-awscli2", debianAWS, "query"},
		{"json/pyenv-awscli1", pyenvTool("aws"), "json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			need(t, tc.aws, tc.name)
			s := startServer(t)
			out, err := run(t, 120*time.Second, clientEnv(s), "bash", "cli/cycle.sh", tc.aws, tc.protocol)
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("cli/cycle.sh %s: %v", tc.aws, err)
			}
		})
	}
}
