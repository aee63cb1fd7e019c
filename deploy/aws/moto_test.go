package awsdeploy

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

// motoEndpoint is the moto server TestMain started for this test binary;
// empty when moto_server is not installed.
var motoEndpoint string

func TestMain(m *testing.M) {
	stop, err := startMoto()
	if err != nil {
		fmt.Fprintln(os.Stderr, "moto:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startMoto starts moto's server on a free loopback port and returns a
// function that stops it by its PID.
func startMoto() (stop func(), err error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	// If the test binary dies without stopping it (a -timeout panic), the
	// kernel stops the server too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			motoEndpoint = endpoint
			return stop, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("moto_server exited: %v", err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 60s: %v", endpoint, err)
		}
	}
}

func needMoto(t *testing.T) string {
	t.Helper()
	if motoEndpoint == "" {
		t.Skip("moto_server is not on PATH; install moto (pip install 'moto[server]') to run the tests against it")
	}
	return motoEndpoint
}
