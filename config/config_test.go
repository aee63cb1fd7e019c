package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/config"
)

func TestLoadSeeds(t *testing.T) {
	t.Parallel()
	c, err := config.Load("testdata/seeds.yaml", config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fleets[0]
	if f.Interval.D() != time.Second || f.MaxCapacity != 50 || f.Kind() != config.KindMemory || f.Memory.StartDelay.D() != 30*time.Second {
		t.Fatalf("fleet %+v", f)
	}
	if f.Name != "qiita-sqs" || f.History != config.DefaultHistory {
		t.Fatalf("defaults: name %q, history %d", f.Name, f.History)
	}
	if tt := f.Policies[0].TargetTracking; tt == nil || tt.TargetValue != 100 || *tt.ScaleInCooldown != 60 {
		t.Fatalf("seed 000 config.json: %+v", tt)
	}
	ps, err := f.BuildPolicies()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name())
	}
	if got := strings.Join(names, ","); got != "backlog100,initial/lower,initial/upper,high/lower,high/upper,slo,raw-step" {
		t.Fatalf("policies %s", got)
	}
}

func TestParseAcceptsJSON(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(`{
	  "fleets": [{
	    "queue": {"url": "http://127.0.0.1:4566/000000000000/q"},
	    "memory": {},
	    "maxCapacity": 10,
	    "interval": "2s",
	    "policies": [{"targetTracking": {"TargetValue": 100.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60, "DisableScaleIn": true}}]
	  }]
	}`), ".", config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fleets[0]
	if f.Interval.D() != 2*time.Second || !f.Policies[0].TargetTracking.DisableScaleIn || f.Queue.Region != "" {
		t.Fatalf("%+v", f)
	}
}

// A queue named by URL leaves its region to package sqsconn (the URL's,
// the environment's, the default) unless the file names one.
func TestQueueRegionLeftToTheConnection(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/123456789012/jobs":     "",
		"https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs": "",
		"http://127.0.0.1:9324/000000000000/jobs":                   "",
	} {
		c, err := config.Parse([]byte(`fleets: [{queue: {url: "`+url+`"}, memory: {}, maxCapacity: 1, policies: [{latency: {acceptableWait: 1s}}]}]`), ".", config.ForAutoscale)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Fleets[0].Queue.Region; got != want {
			t.Errorf("%s: region %s, want %s", url, got, want)
		}
	}
}

const validPolicies = `policies: [{targetTracking: {TargetValue: 100}}]`

// Validation names the field of every problem, for each command.
func TestValidationErrorsNameTheField(t *testing.T) {
	t.Parallel()
	auto := `fleets:
- queue: {url: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}
  maxCapacity: 10
  ` + validPolicies + `
`
	for _, tc := range []struct {
		name string
		use  config.Use
		doc  string
		want []string
	}{
		{"ecs without a cluster, a bad setting and a nonsense cloudwatch section", config.ForAutoscale, auto + `  ecs: {service: workers, statusPort: 70000, protectionExpiry: 72h}
  cloudwatch: {namespace: AWS/SQS, period: 10ms, protocol: xml, dimensions: [{Name: Q}], endpoint: localhost}
`, []string{
			"fleets[0].ecs.cluster: is required",
			"fleets[0].ecs.statusPort: want a port number 1-65535, got 70000",
			"fleets[0].ecs.protectionExpiry: must be 1m0s to 48h0m0s, got 72h0m0s",
			`fleets[0].cloudwatch.namespace: "AWS/SQS": custom metrics cannot use the AWS/ namespaces`,
			"fleets[0].cloudwatch.period: must be at least 1s, got 10ms",
			`fleets[0].cloudwatch.protocol: "xml": want cbor, json or query`,
			"fleets[0].cloudwatch.dimensions[0]: Name and Value are required",
			`fleets[0].cloudwatch.endpoint: "localhost" is not an absolute http(s) URL`,
		}},
		{"asg", config.ForAutoscale, auto + "  asg: {statusPort: -1}\n", []string{"fleets[0].asg.groupName: is required", "fleets[0].asg.statusPort: want a port number"}},
		{"kubernetes", config.ForAutoscale, auto + "  kubernetes: {deployment: a, statefulset: b, qps: -1}\n", []string{"fleets[0].kubernetes.statefulset: give deployment or statefulset, not both", "fleets[0].kubernetes.qps: want requests per second above 0"}},
		{"leader election", config.ForAutoscale, auto + "  kubernetes: {deployment: a, leaderElection: {lease: Bad_Name, namespace: -x, leaseDuration: 1500ms, retryPeriod: 10ms}}\n", []string{
			`fleets[0].kubernetes.leaderElection.lease: "Bad_Name" is not a Kubernetes object name`,
			`fleets[0].kubernetes.leaderElection.namespace: "-x" is not a Kubernetes namespace name`,
			"fleets[0].kubernetes.leaderElection.leaseDuration: want a whole number of seconds, at least 2s, got 1.5s",
			"fleets[0].kubernetes.leaderElection.retryPeriod: must be at least 100ms, got 10ms"}},
		{"leader election timing", config.ForAutoscale, auto + "  kubernetes: {deployment: a, leaderElection: {leaseDuration: 10s, renewDeadline: 10s}}\n", []string{
			"fleets[0].kubernetes.leaderElection.renewDeadline: 10s must be below leaseDuration 10s"}},
		{"leader election retries too rare", config.ForAutoscale, auto + "  kubernetes: {deployment: a, leaderElection: {renewDeadline: 3s, retryPeriod: 3s}}\n", []string{
			"fleets[0].kubernetes.leaderElection.renewDeadline: 3s must be above 1.2 times retryPeriod 3s"}},
		{"kubernetes without a workload", config.ForAutoscale, auto + "  kubernetes: {namespace: jobs}\n", []string{"fleets[0].kubernetes.deployment: is required (or statefulset)"}},
		{"local", config.ForAutoscale, auto + "  local: {maxWorkers: -1, restartBackoff: 1m, maxRestartBackoff: 1s}\n", []string{
			"fleets[0].local.command: is required", "fleets[0].local.maxWorkers: must be at least 1, got -1", "fleets[0].local.maxRestartBackoff: 1s is below restartBackoff 1m0s"}},
		{"local with an empty command", config.ForAutoscale, auto + "  local: {command: []}\n", []string{"fleets[0].local.command: must name a program"}},
		{"no kind", config.ForAutoscale, auto, []string{"fleets[0]: give where the workers run: one of local, kubernetes, ecs, asg, memory"}},
		{"two kinds", config.ForAutoscale, auto + "  memory: {}\n  ecs: {cluster: c, service: s}\n", []string{"fleets[0]: give exactly one of local, kubernetes, ecs, asg, memory; got ecs and memory"}},
		{"worker in qscale autoscale", config.ForAutoscale, auto + "  worker: {demo: 1s}\n", []string{"fleets[0].worker: is qscale up's shorthand"}},
		{"up sections in qscale autoscale", config.ForAutoscale, "queues: [{name: a}]\nconsole: {listen: off}\n" + auto, []string{"queues: are created by qscale up", "console: is qscale up's"}},
		{"queue by name in qscale autoscale", config.ForAutoscale, "fleets: [{queue: jobs, memory: {}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].queue: qscale autoscale needs the queue's URL"}},
		{"no queue", config.ForAutoscale, "fleets: [{memory: {}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].queue.url: is required"}},
		{"bounds, interval, policies", config.ForAutoscale, `fleets:
- queue: {url: "not a url", endpoint: "ftp://x"}
  memory: {startDelay: -1s}
  minCapacity: 5
  maxCapacity: 2
  interval: 10ms
  history: -1
  policies:
    - targetTracking: {TargetValue: -1, ScaleInCooldown: -5}
    - latency: {acceptableWait: 0s}
    - name: x
      latency: {acceptableWait: 10s}
      targetTracking: {TargetValue: 1}
    - scaleOnMetric:
        adjustmentType: ChangeInCapacity
        steps: [{lower: 1, upper: 3, change: 1}]
`, []string{
			`fleets[0].queue.url: "not a url" is not an absolute http(s) URL`,
			`fleets[0].queue.endpoint: "ftp://x" is not an absolute http(s) URL`,
			"fleets[0].memory.startDelay: must not be negative",
			"fleets[0].maxCapacity: 2 is below minCapacity 5",
			"fleets[0].interval: must be at least 100ms, got 10ms",
			"fleets[0].history: must be 1 or more, got -1",
			"fleets[0].policies[0].targetTracking.TargetValue: must be greater than 0, got -1",
			"fleets[0].policies[0].targetTracking.ScaleInCooldown: must be 0 or more seconds, got -5",
			"fleets[0].policies[1].latency.acceptableWait: must be a positive duration",
			"fleets[0].policies[2]: give exactly one of",
			"fleets[0].policies[3].scaleOnMetric.steps: needs at least 2 steps",
		}},
		{"no fleet", config.ForAutoscale, "fleets: []", []string{"fleets: needs a fleet"}},
		{"two fleets of one name", config.ForAutoscale, "fleets: [{name: a, queue: {url: http://x/1/q1}}, {name: a, queue: {url: http://x/1/q2}}]", []string{`fleets[1].name: "a" is already the name of fleets[0]`}},
		{"one queue for two fleets", config.ForAutoscale, "fleets: [{name: a, queue: {url: http://x/1/q}}, {name: b, queues: [{url: http://x/1/r}, {url: http://x/1/q}]}]", []string{`fleets[1].queues[1]: "http://x/1/q" is already consumed at fleets[0].queue`}},
		{"one queue twice in a fleet", config.ForUp, "queues: [{name: a}]\nfleets: [{queues: [a, a], worker: {demo: 1s}, maxCapacity: 1, " + validPolicies + "}]", []string{`fleets[0].queues[1]: "a" is already consumed at fleets[0].queues[0]`}},
		{"queue and queues", config.ForAutoscale, "fleets: [{queue: {url: http://x/1/q}, queues: [{url: http://x/1/r}]}]", []string{"fleets[0].queues: give queue (one) or queues (several), not both"}},
		{"queues: bad entries", config.ForAutoscale, "fleets: [{queues: [{url: ftp://x}, {name: n}], queueCombine: max}]", []string{
			`fleets[0].queues[0].url: "ftp://x" is not an absolute http(s) URL`, "fleets[0].queues[1]: qscale autoscale needs the queue's URL",
			`fleets[0].queueCombine: "max": want sum`}},
		{"up: source", config.ForUp, "queues: [{name: a}]\nfleets: [{queue: a, source: {cloudWatchAge: true}, worker: {demo: 1s}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].source: is qscale autoscale's"}},
		{"source endpoint", config.ForAutoscale, "fleets: [{queue: {url: http://x/1/q}, source: {cloudWatchAge: true, cloudWatchEndpoint: nope}}]", []string{`fleets[0].source.cloudWatchEndpoint: "nope" is not an absolute`}},
		{"policy file missing", config.ForAutoscale, "fleets: [{policies: [{targetTrackingFile: absent.json}]}]", []string{"fleets[0].policies[0].targetTrackingFile: open"}},

		{"up: queue not listed", config.ForUp, "queues: [{name: a}]\nfleets: [{queue: b, worker: {demo: 1s}, maxCapacity: 1, " + validPolicies + "}]", []string{`fleets[0].queue: "b" is not one of queues`}},
		{"up: queue by URL", config.ForUp, "queues: [{name: a}]\nfleets: [{queue: {url: http://x/a}, worker: {demo: 1s}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].queue: qscale up's fleets consume its own queues"}},
		{"up: queue twice", config.ForUp, "queues: [{name: a}, {name: a}]\nfleets: [{queue: a, worker: {demo: 1s}, maxCapacity: 1, " + validPolicies + "}]", []string{`queues[1].name: "a" is listed twice`}},
		{"up: two handlers", config.ForUp, "queues: [{name: a}]\nfleets: [{queue: a, worker: {demo: 1s, command: [x]}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].worker: give exactly one of command, http and demo"}},
		{"up: own flags", config.ForUp, "queues: [{name: a}]\nfleets: [{queue: a, worker: {demo: 1s, flags: [\"--queue-url=x\"]}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].worker.flags: --queue-url is set by qscale up itself"}},
		{"up: httpStart alone", config.ForUp, "queues: [{name: a}]\nfleets: [{queue: a, worker: {command: [x], httpStart: y}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].worker.httpStart: needs http"}},
		{"up: ecs", config.ForUp, "queues: [{name: a}]\nfleets: [{queue: a, ecs: {cluster: c, service: s}, maxCapacity: 1, " + validPolicies + "}]", []string{"fleets[0].ecs: qscale up runs its workers on this machine"}},
		{"up: server and console", config.ForUp, "server: {listen: nope}\nconsole: {listen: 0.0.0.0:80, history: 1s}\nqueues: [{name: a}]\nfleets: [{queue: a, worker: {demo: 1s}, maxCapacity: 1, " + validPolicies + "}]", []string{
			`server.listen: "nope": want host:port`, "console.token: is required when the console listens on 0.0.0.0:80", "console.history: must be at least 1m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse([]byte(tc.doc), t.TempDir(), tc.use)
			if err == nil {
				t.Fatalf("no error for\n%s", tc.doc)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(`fleets:
- queue: {url: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}
  maxCapacity: 7
  policies: [{latency: {acceptableWait: 10s}}]
  local: {command: [w]}
  cloudwatch: {}
`), "", config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fleets[0]
	want := config.Local{
		Command: []string{"w"}, MaxWorkers: 7,
		StartTimeout:      durationOf(config.DefaultStartTimeout),
		StopGrace:         durationOf(config.DefaultStopGrace),
		RestartBackoff:    durationOf(config.DefaultRestartBackoff),
		MaxRestartBackoff: durationOf(config.DefaultMaxRestartBackoff),
	}
	if !reflect.DeepEqual(*f.Local, want) {
		t.Errorf("local %+v\nwant %+v", *f.Local, want)
	}
	cw := f.CloudWatch
	if cw.Namespace != config.DefaultCloudWatchNamespace || cw.MetricName != config.DefaultCloudWatchMetric || cw.Unit != "Count" ||
		cw.Period.D() != time.Minute || cw.Protocol != "cbor" || !reflect.DeepEqual(cw.Dimensions, config.Dimensions{{Name: "SQSName", Value: "jobs"}}) {
		t.Errorf("cloudwatch %+v", cw)
	}
	if f.Name != "jobs" || f.Queue.Region != "" || f.Interval.D() != time.Second {
		t.Errorf("fleet %+v", f)
	}
}

// An empty leaderElection section turns leader election on with its
// defaults: a Lease named after the workload, in the fleet's namespace.
func TestLeaderElectionDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(`fleets:
  - queue: {url: http://127.0.0.1:9324/000000000000/jobs}
    maxCapacity: 3
    policies: [{targetTracking: {TargetValue: 10}}]
    kubernetes:
      deployment: workers
      namespace: jobs
      leaderElection:
`), t.TempDir(), config.ForAutoscale)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Fleets[0].Kubernetes.LeaderElection
	want := config.LeaderElection{
		Lease: "workers" + config.DefaultLeaseSuffix, Namespace: "jobs",
		LeaseDuration: policy.Duration(config.DefaultLeaseDuration), RenewDeadline: policy.Duration(config.DefaultRenewDeadline),
		RetryPeriod: policy.Duration(config.DefaultRetryPeriod),
	}
	if got == nil || *got != want {
		t.Fatalf("leaderElection = %+v, want %+v", got, want)
	}
}

func TestQuickstartIsValid(t *testing.T) {
	t.Parallel()
	c := config.Quickstart()
	if err := c.Validate(config.ForUp); err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:9324" || c.Console.Listen != "127.0.0.1:9325" {
		t.Fatalf("quickstart listens on %s and %s; want loopback defaults", c.Server.Listen, c.Console.Listen)
	}
	f := c.Fleets[0]
	if f.Queue.Name != "demo" || f.MinCapacity != 0 || f.MaxCapacity != 10 || f.Worker.Demo.D() != 10*time.Millisecond {
		t.Fatalf("quickstart fleet %+v", f)
	}
	if ps, err := f.BuildPolicies(); err != nil || len(ps) != 1 {
		t.Fatalf("quickstart policies: %d, %v", len(ps), err)
	}
}

// The worker: shorthand is a local fleet of qscale worker on the queue.
func TestWorkerShorthand(t *testing.T) {
	t.Parallel()
	w := config.Worker{HTTP: "http://127.0.0.1:8080/work", HTTPStart: "python3 app.py", Flags: []string{"--concurrency", "4"},
		Env: map[string]string{"B": "2", "A": "1"}, Dir: "/srv", StopGrace: durationOf(20 * time.Second)}
	l := w.Local(config.WorkerTarget{Executable: "/bin/qscale", QueueURL: "http://127.0.0.1:9324/0/q", Endpoint: "http://127.0.0.1:9324", Env: []string{"AWS_REGION=x"}}, 0)
	wantArgv := []string{"/bin/qscale", "worker", "--queue-url", "http://127.0.0.1:9324/0/q", "--endpoint-url", "http://127.0.0.1:9324",
		"--grace", "15s", "--wait", "5", "--concurrency", "4", "--http", "http://127.0.0.1:8080/work", "--http-start", "python3 app.py"}
	if !reflect.DeepEqual(l.Command, wantArgv) {
		t.Errorf("argv %q\nwant %q", l.Command, wantArgv)
	}
	if !reflect.DeepEqual(l.Env, config.Env{"A=1", "B=2", "AWS_REGION=x"}) || l.Dir != "/srv" || l.MaxWorkers != 1 || l.StopGrace.D() != 20*time.Second {
		t.Errorf("local %+v", l)
	}
	l = config.Worker{Command: []string{"./h.sh", "a"}}.Local(config.WorkerTarget{Executable: "q"}, 5)
	if n := len(l.Command); l.Command[n-3] != "--" || l.Command[n-1] != "a" || l.MaxWorkers != 5 || l.StopGrace.D() != config.DefaultStopGrace {
		t.Errorf("command worker: %+v", l)
	}
}

func TestPathsAreRelativeToTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tt.json"), []byte(`{"TargetValue": 42}`), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "qscale.yaml")
	if err := os.WriteFile(path, []byte(`queues: [{name: a}]
fleets: [{queue: a, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTrackingFile: tt.json}]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path, config.ForUp)
	if err != nil {
		t.Fatal(err)
	}
	if tt := c.Fleets[0].Policies[0].TargetTracking; tt == nil || tt.TargetValue != 42 {
		t.Fatalf("targetTrackingFile not read: %+v", c.Fleets[0].Policies[0])
	}
	if c.Server.DataDir != filepath.Join(dir, "qscale-data") {
		t.Fatalf("data dir %s; want it next to the config file", c.Server.DataDir)
	}
}

func durationOf(d time.Duration) policy.Duration { return policy.Duration(d) }

// busyFloor is on unless a fleet turns it off.
func TestBusyFloorSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		yaml string
		want bool
	}{
		{"", true},
		{"busyFloor: true, ", true},
		{"busyFloor: false, ", false},
	} {
		src := "fleets: [{" + tc.yaml + "queue: {url: 'http://127.0.0.1:9324/000000000000/jobs'}, memory: {}, maxCapacity: 3, policies: [{targetTracking: {TargetValue: 10}}]}]"
		c, err := config.Parse([]byte(src), ".", config.ForAutoscale)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := c.Fleets[0].KeepsBusy(); got != tc.want {
			t.Errorf("%q: KeepsBusy %t, want %t", tc.yaml, got, tc.want)
		}
	}
	if _, err := config.Parse([]byte("fleets: [{busyFloor: maybe, queue: {url: 'http://127.0.0.1:9324/000000000000/jobs'}, memory: {}, maxCapacity: 3, policies: [{targetTracking: {TargetValue: 10}}]}]"), ".", config.ForAutoscale); err == nil || !strings.Contains(err.Error(), "busyFloor") {
		t.Errorf("busyFloor: maybe: %v", err)
	}
}

func TestSeveralFleetsAndQueues(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(`
queues: [{name: a}, {name: b}, {name: c}]
fleets:
  - queue: a
    maxCapacity: 4
    worker: {demo: 10ms}
    policies: [{targetTracking: {TargetValue: 10}}]
  - queues: [b, c]
    queueCombine: worst
    maxCapacity: 2
    worker: {demo: 10ms}
    policies: [{targetTracking: {TargetValue: 10}}]
`), t.TempDir(), config.ForUp)
	if err != nil {
		t.Fatal(err)
	}
	a, bc := c.Fleets[0], c.Fleets[1]
	if a.Name != "a" || a.QueueCombine != config.CombineSum || a.QueueLabel() != "a" {
		t.Fatalf("fleet a: name %q, combine %q, label %q", a.Name, a.QueueCombine, a.QueueLabel())
	}
	if bc.Name != "b+c" || bc.QueueCombine != config.CombineWorst || strings.Join(bc.QueueNames(), ",") != "b,c" || bc.Combine().String() != "worst" {
		t.Fatalf("fleet b+c: name %q, combine %q, queues %v", bc.Name, bc.QueueCombine, bc.QueueNames())
	}
}
