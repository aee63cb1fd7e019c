package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/server"
)

// testPKI is a certificate authority made for one test and a server
// certificate it signed for 127.0.0.1 and localhost, written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "qscale test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "qscale"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{
		caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"),
		pool: x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{p.caFile, "CERTIFICATE", caDER}, {p.certFile, "CERTIFICATE", der}, {p.keyFile, "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p testPKI) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
}

// sqsClient is an SDK client of endpoint that trusts the test CA and
// sends over hc (pki.httpClient() when nil), without retries.
func (p testPKI) sqsClient(endpoint string, hc *http.Client) *sqs.Client {
	if hc == nil {
		hc = p.httpClient()
	}
	return sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  hc,
	})
}

func TestServerTLSWithTheSDK(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	s := startOps(t, server.Config{InMemory: true, TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s is not https", s.URL())
	}
	ctx := context.Background()
	c := pki.sqsClient(s.URL(), nil)
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("secure")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*q.QueueUrl, "https://") {
		t.Errorf("queue URL %s is not https", *q.QueueUrl)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("over TLS")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	if err != nil || len(out.Messages) != 1 || *out.Messages[0].Body != "over TLS" {
		t.Fatalf("receive: %v %+v", err, out)
	}

	// A client that does not trust the CA is refused by its own check.
	plain := newClient(s.URL())
	if _, err := plain.ListQueues(ctx, &sqs.ListQueuesInput{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("ListQueues without the CA: %v, want a certificate error", err)
	}
	// Plain HTTP to the TLS port gets no SQS answer.
	if resp, err := http.Get("http://" + s.Addr() + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port: %d", resp.StatusCode)
		}
	}
	// The admin listener serves TLS with the same certificate.
	if !strings.HasPrefix(s.AdminURL(), "https://") {
		t.Fatalf("admin URL %s is not https", s.AdminURL())
	}
	if status, _ := get(t, pki.httpClient(), s.AdminURL()+"/healthz"); status != 200 {
		t.Errorf("admin /healthz over TLS: %d", status)
	}
}

// TestServerTLSWithTheAWSCLI runs the AWS CLI with --ca-bundle against the
// TLS endpoint: the pyenv CLI on PATH (JSON protocol) and Debian's
// /usr/bin/aws 2.9 (query protocol).
func TestServerTLSWithTheAWSCLI(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	s := startOps(t, server.Config{InMemory: true, TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile})
	onPath, _ := exec.LookPath("aws")
	for _, cli := range []struct{ name, path string }{{"path", onPath}, {"debian", "/usr/bin/aws"}} {
		t.Run(cli.name, func(t *testing.T) {
			if _, err := os.Stat(cli.path); cli.path == "" || err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("the AWS CLI (%s) is required: %q %v", cli.name, cli.path, err)
				}
				t.Skipf("no AWS CLI (%s)", cli.name)
			}
			queueName := "cli-" + cli.name
			run := func(args ...string) []byte {
				t.Helper()
				cmd := exec.Command(cli.path, append([]string{"--endpoint-url", s.URL(), "--ca-bundle", pki.caFile, "--region", "us-east-1", "--output", "json", "sqs"}, args...)...)
				cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_CA_BUNDLE=")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("aws sqs %v: %v\n%s", args, err, out)
				}
				return out
			}
			var created struct{ QueueUrl string }
			if err := json.Unmarshal(run("create-queue", "--queue-name", queueName), &created); err != nil || !strings.HasPrefix(created.QueueUrl, "https://") {
				t.Fatalf("create-queue: %v %+v", err, created)
			}
			run("send-message", "--queue-url", created.QueueUrl, "--message-body", "from the CLI")
			var got struct{ Messages []struct{ Body string } }
			if err := json.Unmarshal(run("receive-message", "--queue-url", created.QueueUrl), &got); err != nil || len(got.Messages) != 1 || got.Messages[0].Body != "from the CLI" {
				t.Fatalf("receive-message: %v %+v", err, got)
			}
		})
	}
}

func TestServerTLSNeedsBothFiles(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	for _, cfg := range []server.Config{
		{TLSCertFile: pki.certFile},
		{TLSKeyFile: pki.keyFile},
		{TLSCertFile: pki.keyFile, TLSKeyFile: pki.certFile},
	} {
		cfg.InMemory, cfg.Listen = true, "127.0.0.1:0"
		if s, err := server.Start(context.Background(), cfg); err == nil {
			s.Stop(context.Background())
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}

// Over TLS too, connections idle between requests do not keep a new client
// out at the connection cap: the cap sees through the TLS layer.
func TestServerTLSConnectionCapClosesIdleConnections(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	const limit = 3
	s := startOps(t, server.Config{InMemory: true, MaxConnections: limit, TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile})
	for range limit {
		// One client each, so each keeps its own idle connection.
		c := pki.httpClient()
		if status, _ := get(t, c, s.URL()+"/?Action=ListQueues"); status != 200 {
			t.Fatalf("ListQueues: %d", status)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c := pki.sqsClient(s.URL(), nil)
	if _, err := c.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("a new client while %d idle TLS connections fill the cap: %v", limit, err)
	}
}
