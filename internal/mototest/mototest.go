// Package mototest runs moto's server (another implementation of the AWS
// APIs qscale calls: SQS, ECS, EC2 Auto Scaling, CloudWatch) for tests, on
// a free loopback port, stopped by its PID.
//
// moto comes with the machine's Python (pyenv's moto_server); it cannot be
// installed from here. Where it is missing the tests that need it skip,
// except under CI=true, where a missing moto_server fails them: a test
// suite must not pass by running none of its AWS tests.
package mototest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/lifeline"
)

// Start starts moto_server and returns its endpoint and a function that
// stops it. When moto_server is not on PATH it returns "" and a no-op.
func Start() (endpoint string, stop func(), err error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "", func() {}, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	// If the test binary dies without stopping it (a -timeout panic), the
	// kernel stops the server too. The signal is tied to the thread that
	// forks (Linux's parent-death signal), so the fork goes through
	// lifeline's thread that lives as long as the process: a thread the Go
	// runtime retired would take moto down in the middle of a test.
	if err := lifeline.Start(cmd, syscall.SIGKILL); err != nil {
		return "", nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return endpoint, stop, nil
		}
		select {
		case err := <-exited:
			return "", nil, fmt.Errorf("moto_server exited: %v", err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("moto_server did not answer on %s within 60s: %v", endpoint, err)
		}
	}
}

// Missing explains a missing moto_server.
const Missing = "moto_server is not on PATH: the tests against moto need the machine's Python with moto 5 (pyenv's moto_server; PyPI is not reachable from here)"

// Required reports whether a missing moto_server must fail the tests
// rather than skip them: when the environment says CI=true.
func Required() bool { return os.Getenv("CI") == "true" }

// Need returns endpoint, or, when moto is not installed, fails the test
// under CI=true and skips it elsewhere.
func Need(t testing.TB, endpoint string) string {
	t.Helper()
	if endpoint == "" {
		if Required() {
			t.Fatal(Missing + " (CI=true: failing instead of skipping)")
		}
		t.Skip(Missing)
	}
	return endpoint
}

// StartT starts a moto server for one test, stopped when the test ends, and
// returns its endpoint; it skips the test when moto is not installed.
func StartT(t testing.TB) string {
	t.Helper()
	endpoint, stop, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return Need(t, endpoint)
}

// Main runs a package's tests with one moto server for all of them: it
// sets *endpoint ("" when moto is not installed), runs m, stops the server
// and exits. Call it from TestMain. Under CI=true a missing moto_server
// exits 1 before any test runs.
func Main(m *testing.M, endpoint *string) {
	if _, err := exec.LookPath("moto_server"); err != nil && Required() {
		fmt.Fprintln(os.Stderr, "mototest:", Missing, "(CI=true)")
		os.Exit(1)
	}
	ep, stop, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "moto:", err)
		os.Exit(1)
	}
	*endpoint = ep
	code := m.Run()
	stop()
	os.Exit(code)
}
