package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestBoto3 runs e2e/python/sqs_e2e.py, which exercises every SQS action
// and the main errors, under Debian's boto3 1.26 (query protocol) and
// pyenv's boto3 1.43 (JSON protocol).
func TestBoto3(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, python, protocol string }{
		{"query/debian-boto3", debianPython, "query"},
		{"json/pyenv-boto3", pyenvTool("python3"), "json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			version := needBoto3(t, tc.python, tc.name)
			s := startServer(t)
			out, err := run(t, 90*time.Second, clientEnv(s), tc.python, "python/sqs_e2e.py", s.Endpoint, tc.protocol)
			t.Logf("boto3 %s:\n%s", version, out)
			if err != nil {
				t.Fatalf("sqs_e2e.py under boto3 %s (%s protocol): %v", version, tc.protocol, err)
			}
		})
	}
}

// TestSigV4 starts the server with an access key and signs requests with
// boto3 in both protocols: the right secret works, a wrong one gets
// SignatureDoesNotMatch and an unknown key id InvalidClientTokenId.
func TestSigV4(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, python string }{
		{"query/debian-boto3", debianPython},
		{"json/pyenv-boto3", pyenvTool("python3")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			needBoto3(t, tc.python, tc.name)
			s := startServer(t, "--access-key", "AKIDQSCALEE2E:e2e-secret-key")
			for _, c := range []struct{ key, secret, want string }{
				{"AKIDQSCALEE2E", "e2e-secret-key", "ok"},
				{"AKIDQSCALEE2E", "not-the-secret", "SignatureDoesNotMatch"},
				{"AKIDUNKNOWN", "e2e-secret-key", "InvalidClientTokenId"},
			} {
				out, err := run(t, 60*time.Second, clientEnv(s), tc.python, "python/sigv4_check.py", s.Endpoint, c.key, c.secret, c.want)
				if err != nil {
					t.Errorf("key %s, want %s: %v\n%s", c.key, c.want, err, out)
				}
			}
			if !strings.Contains(s.proc.Output(), "verifying AWS Signature V4") {
				t.Errorf("server did not say it verifies signatures:\n%s", s.proc.Output())
			}
		})
	}
}
