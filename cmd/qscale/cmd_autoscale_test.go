package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/qscale/qscale/internal/mototest"
	"github.com/qscale/qscale/internal/testserver"
)

// qscale autoscale with a cloudwatch section publishes backlog per worker
// to CloudWatch (moto's) while it scales, as seed 000's script did.
func TestAutoscalePublishesToCloudWatch(t *testing.T) {
	moto := mototest.StartT(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")

	endpoint := testserver.Start(t)
	api := testserver.Client(endpoint)
	queueURL := testserver.Fill(t, api, "jobs", 30)
	cfg := filepath.Join(t.TempDir(), "autoscale.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
fleets:
  - queue: {url: %q}
    memory: {}
    minCapacity: 0
    maxCapacity: 5
    interval: 200ms
    policies:
      - targetTracking: {TargetValue: 10, ScaleOutCooldown: 0}
    cloudwatch: {endpoint: %q, region: us-east-1, period: 1s, protocol: query}
`, queueURL, moto)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runAutoscale(ctx, []string{"--config", cfg, "--console", "127.0.0.1:0"}) }()

	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *cloudwatch.Options) { o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) }) // moto speaks no CBOR
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := cw.ListMetrics(t.Context(), &cloudwatch.ListMetricsInput{Namespace: aws.String("SQS/BACKLOG")})
		if err == nil && len(out.Metrics) > 0 {
			if m := out.Metrics[0]; aws.ToString(m.MetricName) != "backlogpertask" || len(m.Dimensions) != 1 || aws.ToString(m.Dimensions[0].Value) != "jobs" {
				t.Fatalf("published %+v; want seed 000's backlogpertask with SQSName=jobs", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing published to CloudWatch within 30 s (last error %v)", err)
		}
		time.Sleep(100 * time.Millisecond) // moto's metrics are the only signal
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("qscale autoscale: %v", err)
	}
}

// writeConfig writes a configuration file into a new directory.
func writeConfig(t *testing.T, name, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// --check reads the fleet's and the CloudWatch section's settings as
// strictly as a run does, with no AWS call: an ECS fleet with a bogus
// setting and no cluster, and a nonsense cloudwatch section, are refused
// with the path of each problem.
func TestAutoscaleCheckRefusesBadSettings(t *testing.T) {
	t.Parallel()
	const head = `fleets:
  - queue: {url: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}
    maxCapacity: 10
    policies: [{targetTracking: {TargetValue: 100}}]
`
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"bad keys and values", head + `    ecs: {service: workers, statusPrt: 8081, protectionExpiry: soon}
    cloudwatch: {namespace: Jobs, dimension: x, raw: maybe}
`, []string{
			"fleets[0].ecs.statusPrt: unknown field (known: cluster, endpoint, protectionExpiry, region, service, statusPort)",
			`fleets[0].ecs.protectionExpiry: duration "soon"`,
			"fleets[0].cloudwatch.dimension: unknown field",
			`fleets[0].cloudwatch.raw: want true or false, got "maybe"`,
		}},
		{"missing and nonsense values", head + `    ecs: {service: workers, statusPort: 70000}
    cloudwatch: {namespace: AWS/SQS, period: 10ms, protocol: xml}
`, []string{
			"fleets[0].ecs.cluster: is required",
			"fleets[0].ecs.statusPort: want a port number 1-65535, got 70000",
			`fleets[0].cloudwatch.namespace: "AWS/SQS": custom metrics cannot use the AWS/ namespaces`,
			"fleets[0].cloudwatch.period: must be at least 1s, got 10ms",
			`fleets[0].cloudwatch.protocol: "xml": want cbor, json or query`,
		}},
		{"a unit CloudWatch does not know", head + `    ecs: {cluster: jobs, service: workers}
    cloudwatch: {unit: Parsecs}
`, []string{`fleets[0].cloudwatch: cwpublish: unit "Parsecs" is not a CloudWatch unit`}},
		{"the old layout", `queue: {url: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}
fleet: {kind: ecs, settings: {cluster: jobs, service: workers}}
`, []string{"queue: unknown field: queue belongs to a fleet now", "fleet: unknown field: fleets are a list now"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, "bad.yaml", tc.doc)
			var out bytes.Buffer
			err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatalf("--check accepted:\n%s\nand said %s", tc.doc, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// The example files check as valid without AWS credentials or calls.
func TestAutoscaleCheckAcceptsTheExamples(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"../../deploy/aws/autoscale-ecs.yaml", "../../deploy/aws/autoscale-asg.yaml", "../../config/testdata/seeds.yaml"} {
		var out bytes.Buffer
		if err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if !strings.Contains(out.String(), path+": valid; fleet ") {
			t.Errorf("%s: --check said %q", path, out.String())
		}
	}
}

// A queue source that cannot be built leaves no fleet behind: the local
// fleet is not started (it would make its status directory in TMPDIR and
// remove it only at Stop).
func TestAutoscaleSourceFailureLeavesNoFleet(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("AWS_CONFIG_FILE", writeConfig(t, "aws-config", "[default]\nregion = us-east-1\n"))
	t.Setenv("AWS_PROFILE", "qscale-test-no-such-profile")
	path := writeConfig(t, "qscale.yaml", `fleets:
  - queue: {url: "http://127.0.0.1:9/000000000000/jobs"}
    maxCapacity: 1
    policies: [{targetTracking: {TargetValue: 1}}]
    local: {command: [sleep, "60"]}
`)
	err := autoscaleRun(t.Context(), autoscaleOptions{config: path}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "fleets[0].queue:") {
		t.Fatalf("error %v, want the queue source's", err)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "qscale-fleet-*"))
	if len(left) > 0 {
		t.Fatalf("a fleet was left behind: %v", left)
	}
}

// A run starts the fleet once, hands it the command's logger (so
// --log-level reaches it, and its records name the fleet), and stops it
// when the context ends.
func TestAutoscaleFleetGetsTheLoggerAndStops(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	endpoint := testserver.Start(t)
	queueURL := testserver.Fill(t, testserver.Client(endpoint), "jobs", 1)
	path := writeConfig(t, "qscale.yaml", fmt.Sprintf(`fleets:
  - queue: {url: %q}
    maxCapacity: 1
    interval: 100ms
    policies: [{targetTracking: {TargetValue: 1, ScaleOutCooldown: 0}}]
    local: {command: [sleep, "60"], stopGrace: 5s}
`, queueURL))
	spawned := make(chan struct{})
	var once sync.Once
	logs := &recordHandler{onRecord: func(r slog.Record, attrs map[string]string) {
		if r.Message == "worker spawned" && attrs["fleet"] == "jobs" && attrs["kind"] == "local" {
			once.Do(func() { close(spawned) })
		}
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- autoscaleRun(ctx, autoscaleOptions{config: path}, slog.New(logs)) }()
	select {
	case <-spawned:
	case err := <-done:
		t.Fatalf("qscale autoscale ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no \"worker spawned\" record naming fleet jobs, kind local, within 30 s")
	}
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "qscale-fleet-*")); len(dirs) != 1 {
		t.Fatalf("status directories %v, want one: the fleet started once", dirs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "qscale-fleet-*")); len(left) > 0 {
		t.Fatalf("the fleet was not stopped: %v remains", left)
	}
}

// recordHandler passes each record, with its attributes (those given
// with With included) as text, to onRecord.
type recordHandler struct {
	attrs    []slog.Attr
	onRecord func(slog.Record, map[string]string)
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{}
	for _, a := range h.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	h.onRecord(r, m)
	return nil
}

func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{attrs: append(slices.Clone(h.attrs), as...), onRecord: h.onRecord}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }
