// Package mototest runs moto's server (another implementation of the AWS
// APIs qscale calls: SQS, ECS, EC2 Auto Scaling, CloudWatch) for tests, on
// a free loopback port, stopped by its PID.
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
	// kernel stops the server too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
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

// Need returns endpoint, or skips the test when moto is not installed
// (it comes from PyPI, which a fresh machine here cannot reach).
func Need(t testing.TB, endpoint string) string {
	t.Helper()
	if endpoint == "" {
		t.Skip("moto_server is not on PATH; install moto (pip install 'moto[server]') to run the tests against it")
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
// and exits. Call it from TestMain.
func Main(m *testing.M, endpoint *string) {
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
