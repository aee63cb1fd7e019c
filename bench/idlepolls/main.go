// Command idlepolls measures what idle long polls cost a qscale server: it
// starts `qscale server --in-memory` as a child process, creates an empty
// queue, holds N ReceiveMessage calls (WaitTimeSeconds 20, each sent again
// on its connection when it ends, as workers do) and samples the server's
// CPU time (/proc/PID/stat) and resident memory (/proc/PID/status) every
// second over a window. It prints the average CPU over the window (the
// re-polls included), the median second's CPU (between re-polls), and the
// resident memory the polls added, in total and per poll.
//
//	go run ./bench/idlepolls -qscale /path/to/qscale -polls 10000 -window 60s
//
// With -tls the server serves TLS with a certificate made for the run, and
// every connection is TLS (HTTP/1.1).
//
// See bench/idle-long-polls.sh, which builds qscale first.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "idlepolls:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("qscale", "qscale", "the qscale binary")
	polls := flag.Int("polls", 10000, "concurrent idle long polls")
	window := flag.Duration("window", 60*time.Second, "how long to sample once every poll is parked")
	useTLS := flag.Bool("tls", false, "serve and poll over TLS")
	flag.Parse()

	dir, err := os.MkdirTemp("", "idlepolls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addrFile, adminFile := filepath.Join(dir, "addr"), filepath.Join(dir, "admin")
	args := []string{"server", "--in-memory", "--listen", "127.0.0.1:0", "--addr-file", addrFile, "--admin-addr-file", adminFile}
	scheme := "http"
	if *useTLS {
		cert, key, pool, err := makeCert(dir)
		if err != nil {
			return err
		}
		args = append(args, "--tls-cert", cert, "--tls-key", key)
		cfg := &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}
		dial = func(addr string) (net.Conn, error) { return tls.Dial("tcp", addr, cfg) }
		scheme = "https"
	}
	srv := exec.Command(*bin, args...)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	}()
	addr, err := waitAddr(addrFile)
	if err != nil {
		return err
	}
	admin, err := waitAddr(adminFile)
	if err != nil {
		return err
	}
	pid := srv.Process.Pid
	if _, err := call(addr, "CreateQueue", `{"QueueName":"idle"}`); err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	queueURL := scheme + "://" + addr + "/000000000000/idle"
	time.Sleep(time.Second) // start-up work is not idle cost
	rssBase, err := rss(pid)
	if err != nil {
		return err
	}

	body := fmt.Sprintf(`{"QueueUrl":%q,"WaitTimeSeconds":20,"MaxNumberOfMessages":10}`, queueURL)
	req := []byte(fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body))
	var parked, answered, failed atomic.Int64
	var slowest atomic.Int64 // nanoseconds, the longest a poll waited for its answer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range *polls {
		go func() {
			if err := poll(ctx, addr, req, &parked, &answered, &slowest); err != nil && ctx.Err() == nil {
				failed.Add(1)
			}
		}()
	}
	for parked.Load()+failed.Load() < int64(*polls) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d polls failed to start", n, *polls)
	}
	time.Sleep(2 * time.Second) // let the server take the last requests in

	gcBefore := gcCycles(admin)
	hz := int64(100) // CLK_TCK on Linux
	ticks0, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	prev := ticks0
	var perSecond []int64
	start := time.Now()
	for time.Since(start) < *window {
		time.Sleep(time.Second)
		t, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		perSecond = append(perSecond, t-prev)
		prev = t
	}
	wall := time.Since(start)
	rssNow, err := rss(pid)
	if err != nil {
		return err
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d polls failed during the window", n)
	}
	slices.Sort(perSecond)
	median := perSecond[len(perSecond)/2]
	avg := float64(prev-ticks0) / float64(hz) / wall.Seconds()
	fmt.Printf("polls %d window %s answered %d (re-polls); the slowest answer took %s\n", *polls, wall.Round(time.Second), answered.Load(), time.Duration(slowest.Load()).Round(time.Millisecond))
	fmt.Printf("cpu: average %.2f %% of a core; median second %.2f %%; busiest second %.2f %%\n",
		100*avg, 100*float64(median)/float64(hz), 100*float64(perSecond[len(perSecond)-1])/float64(hz))
	fmt.Printf("rss: %d MiB before, %d MiB with the polls: %.1f KiB per poll\n",
		rssBase>>20, rssNow>>20, float64(rssNow-rssBase)/1024/float64(*polls))
	// Where the memory is, as the server's Go runtime counts it.
	if m, err := runtimeMetrics(admin); err == nil {
		fmt.Printf("go runtime: goroutines %s; heap in use %s MiB; stacks %s MiB; %d garbage collections in the window\n",
			m["go_goroutines"], mib(m["go_memstats_heap_inuse_bytes"]), mib(m["go_memstats_stack_inuse_bytes"]), gcCycles(admin)-gcBefore)
	}
	return nil
}

// poll holds one connection and sends the long poll on it again each time
// it is answered. parked counts the first request written.
func poll(ctx context.Context, addr string, req []byte, parked, answered, slowest *atomic.Int64) error {
	c, err := dial(addr)
	if err != nil {
		parked.Add(1)
		return err
	}
	defer c.Close()
	context.AfterFunc(ctx, func() { c.Close() })
	br := bufio.NewReaderSize(c, 512)
	first := true
	for {
		sent := time.Now()
		if _, err := c.Write(req); err != nil {
			if first {
				parked.Add(1)
			}
			return err
		}
		if first {
			parked.Add(1)
			first = false
		}
		if err := readResponse(br); err != nil {
			return err
		}
		answered.Add(1)
		for d := int64(time.Since(sent)); ; {
			old := slowest.Load()
			if d <= old || slowest.CompareAndSwap(old, d) {
				break
			}
		}
	}
}

// dial connects to the server: plain TCP, or TLS with -tls.
var dial = func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

// makeCert writes a self-signed certificate for 127.0.0.1 and its key into
// dir and returns their paths and a pool that trusts it.
func makeCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idlepolls"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}

// readResponse reads one HTTP response with a Content-Length.
func readResponse(br *bufio.Reader) error {
	n := -1
	status := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if status == "" {
			status = line
			continue
		}
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if !strings.Contains(status, " 200 ") {
		return fmt.Errorf("answer %q", status)
	}
	if n < 0 {
		return errors.New("answer without Content-Length")
	}
	_, err := io.CopyN(io.Discard, br, int64(n))
	return err
}

// call sends one JSON request on its own connection.
func call(addr, action, body string) (string, error) {
	c, err := dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", addr, action, len(body), body)
	b, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(b, []byte(" 200 ")) {
		return "", fmt.Errorf("answer %q", b)
	}
	return string(b), nil
}

func waitAddr(file string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", errors.New("server did not write its address in 30 s")
}

// cpuTicks returns utime+stime of pid in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return ut + st, nil
}

// rss returns pid's resident memory in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// runtimeMetrics reads the Go runtime's gauges from the admin listener's
// /metrics.
func runtimeMetrics(admin string) (map[string]string, error) {
	c, err := dial(admin)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", admin)
	b, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && strings.HasPrefix(k, "go_") {
			m[k] = v
		}
	}
	return m, nil
}

func mib(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return "?"
	}
	return strconv.FormatFloat(f/(1<<20), 'f', 1, 64)
}

// gcCycles returns how many garbage collections the server has run (0 when
// its metrics cannot be read).
func gcCycles(admin string) int64 {
	m, err := runtimeMetrics(admin)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseFloat(m["go_gc_duration_seconds_count"], 64)
	return int64(n)
}
