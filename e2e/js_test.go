package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestJavaScriptSDK runs e2e/js/sqs_e2e.mjs with the AWS SDK for JavaScript
// v3 (@aws-sdk/client-sqs, pinned in e2e/js/package-lock.json; scripts/test
// runs npm ci there).
func TestJavaScriptSDK(t *testing.T) {
	t.Parallel()
	need(t, "node", "Node.js")
	if _, err := os.Stat(filepath.Join(e2eDir(), "js", "node_modules", "@aws-sdk", "client-sqs")); err != nil {
		t.Skip("@aws-sdk/client-sqs is not installed: run npm ci in e2e/js (scripts/test does)")
	}
	s := startServer(t)
	out, err := run(t, 90*time.Second, clientEnv(s, "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1"), "node", "js/sqs_e2e.mjs", s.Endpoint)
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("js/sqs_e2e.mjs: %v", err)
	}
}
