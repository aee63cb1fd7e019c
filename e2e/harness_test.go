// Package e2e runs real AWS clients (the AWS CLI v1 and v2, boto3 in both
// wire protocols, the JavaScript SDK v3 and typical users' Python workers)
// against a running `qscale server` process.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/qscalebin"
)

// qscaleBin is the server binary TestMain builds once for every test.
var qscaleBin string

func TestMain(m *testing.M) {
	bin, err := qscalebin.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	qscaleBin = bin
	code := m.Run()
	qscalebin.Cleanup()
	os.Exit(code)
}

// repoRoot is the module root: the parent of this package's directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// e2eDir is the directory of this package, where the client scripts live.
func e2eDir() string { return filepath.Join(repoRoot(), "e2e") }

// server is one running `qscale server` process.
type server struct {
	Endpoint string // http://127.0.0.1:PORT
	proc     *qscalebin.Process
}

// lockedBuffer collects the server's log while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer starts an in-memory qscale server on a free loopback port with
// extra flags, waits until it listens, and stops it by its PID at cleanup.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	args := append([]string{"server", "--listen", "127.0.0.1:0", "--in-memory", "--addr-file", addrFile}, extra...)
	p := qscalebin.Start(t, nil, args...)
	t.Cleanup(func() {
		// Runs before Start's own cleanup: a clean shutdown on SIGTERM.
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("qscale server did not stop within 10s of SIGTERM")
		}
	})
	addr := strings.TrimSpace(string(p.WaitFile(t, addrFile, 15*time.Second, func(b []byte) bool {
		c, err := net.DialTimeout("tcp", strings.TrimSpace(string(b)), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})))
	return &server{Endpoint: "http://" + addr, proc: p}
}

// clientEnv is the environment of a client process talking to s: dummy
// credentials (the server accepts any signature without --access-key), a
// region, the endpoint, and nothing from the user's AWS configuration.
func clientEnv(s *server, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LANG=C.UTF-8",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_SQS=" + s.Endpoint,
		"QSCALE_ENDPOINT=" + s.Endpoint,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONUNBUFFERED=1",
	}
	if v := os.Getenv("PYENV_ROOT"); v != "" {
		env = append(env, "PYENV_ROOT="+v)
	}
	return append(env, extra...)
}

// run runs a client command to completion within timeout and returns its
// combined output and error.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = e2eDir()
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %v: %w", name, timeout, err)
	}
	return out.String(), err
}

// need skips the test when an executable client is absent.
func need(t *testing.T, path, what string) {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		t.Skipf("%s is not installed (%s not found); scripts/test installs it", what, path)
	}
}

// needPythonModule skips the test when python cannot import boto3.
func needBoto3(t *testing.T, python, what string) string {
	t.Helper()
	need(t, python, what)
	out, err := exec.Command(python, "-c", "import boto3; print(boto3.__version__)").CombinedOutput()
	if err != nil {
		t.Skipf("%s: %s cannot import boto3 (%v); scripts/test installs it", what, python, err)
	}
	return strings.TrimSpace(string(out))
}

// Debian's clients speak the query protocol: awscli 2.9 and boto3 1.26.
const (
	debianPython = "/usr/bin/python3"
	debianAWS    = "/usr/bin/aws"
)

// pyenvTool is a command of the machine's pyenv Python (boto3 1.43 and
// aws-cli 1.45, JSON protocol): under $PYENV_ROOT, else ~/.pyenv.
func pyenvTool(name string) string {
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".pyenv")
	}
	return filepath.Join(root, "shims", name)
}

// sqsJSON makes one unsigned AWS JSON 1.0 call (the server has no access
// keys) for the tests' own set-up and checks, and decodes the answer.
func sqsJSON(t *testing.T, s *server, action string, in any) map[string]any {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", action, resp.StatusCode, b)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v: %s", action, err, b)
	}
	return out
}
