package release

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// podman is a podman command line whose storage lives in the test's
// temporary directory (vfs: no overlay mounts needed).
type podman struct {
	t    *testing.T
	args []string
}

func newPodman(t *testing.T) podman {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("podman is not installed (scripts/test installs it from Debian): the container image is not tested")
		}
		t.Skip("podman is not installed; scripts/test installs it")
	}
	dir := t.TempDir()
	return podman{t, []string{bin, "--storage-driver", "vfs", "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}}
}

func (p podman) run(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.args[0], append(p.args[1:], args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// The image scripts/image builds holds the static binary, run as uid 65532
// with the OCI labels; its qscale reports the version, serves the SQS API,
// and the image saves as an OCI archive.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds qscale and an image; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image holds a linux binary; this test runs it")
	}
	t.Parallel()
	p := newPodman(t)
	root := repoRoot(t)
	const version, tag = "v0.0.0-imagetest", "localhost/qscale-test:v0.0.0-imagetest"
	archive := filepath.Join(t.TempDir(), "qscale.oci.tar")
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "image"), "-t", tag, "-o", archive, version)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PODMAN="+strings.Join(p.args, " "), "QSCALE_COMMIT=0123456789abcdef0123456789abcdef01234567")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image: %v\n%s", err, out)
	}

	var config struct {
		User       string
		Entrypoint []string
		Labels     map[string]string
	}
	if err := json.Unmarshal([]byte(p.run("image", "inspect", "--format", "{{json .Config}}", tag)), &config); err != nil {
		t.Fatal(err)
	}
	if config.User != "65532:65532" || strings.Join(config.Entrypoint, " ") != "/qscale" {
		t.Errorf("image runs %q as %q, want /qscale as 65532:65532", config.Entrypoint, config.User)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.source":   "https://github.com/qscale/qscale",
	} {
		if config.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, config.Labels[k], want)
		}
	}

	mnt := p.run("image", "mount", tag)
	t.Cleanup(func() { p.run("image", "unmount", tag) })
	passwd, err := os.ReadFile(filepath.Join(mnt, "etc", "passwd"))
	if err != nil || !strings.Contains(string(passwd), ":65532:65532:") {
		t.Errorf("/etc/passwd of the image has no uid 65532: %q, %v", passwd, err)
	}
	if st, err := os.Stat(filepath.Join(mnt, "etc", "ssl", "certs", "ca-certificates.crt")); err != nil || st.Size() == 0 {
		t.Errorf("the image has no CA bundle: %v", err)
	}
	bin := filepath.Join(mnt, "qscale")
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "qscale "+version+"\n") || !strings.Contains(string(out), "linux/") {
		t.Errorf("%s version: %q, %v", bin, out, err)
	}
	serveFromImage(t, bin)

	if err := checkOCIArchive(archive); err != nil {
		t.Errorf("%s: %v", archive, err)
	}
}

var endpointLog = regexp.MustCompile(`endpoint=(http://127\.0\.0\.1:\d+)`)

// serveFromImage starts the image's qscale server and makes SQS calls to it
// with the AWS SDK.
func serveFromImage(t *testing.T, bin string) {
	t.Helper()
	srv := exec.Command(bin, "server", "--in-memory", "--listen", "127.0.0.1:0")
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
	})
	// The server logs its endpoint once it listens; the rest of its log is drained.
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := endpointLog.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		close(found)
	}()
	var endpoint string
	select {
	case e, ok := <-found:
		if !ok {
			t.Fatal("the image's qscale server exited without logging its endpoint")
		}
		endpoint = e
	case <-time.After(30 * time.Second):
		t.Fatal("the image's qscale server did not log its endpoint within 30s")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("image-test")})
	if err != nil {
		t.Fatalf("CreateQueue on the image's server: %v", err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("from the image")}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
	if err != nil || len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != "from the image" {
		t.Fatalf("ReceiveMessage: %+v, %v", got, err)
	}
}

// checkOCIArchive checks that file is a tar holding an OCI image layout.
func checkOCIArchive(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		seen[strings.TrimPrefix(h.Name, "./")] = true
	}
	for _, want := range []string{"oci-layout", "index.json"} {
		if !seen[want] {
			return errors.New("not an OCI archive: no " + want)
		}
	}
	return nil
}
