package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/config"
)

// Every problem the decoder finds names the field's path.
func TestDecodeErrorsNameTheirPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown top-level key", `bogus: 1`, []string{"bogus: unknown field (known: console, fleets, queues, server)"}},
		{"unknown fleet key", `fleets: [{ecs: {cluster: c}, replicas: 3}]`, []string{"fleets[0].replicas: unknown field (known: asg, busyFloor, cloudwatch,"}},
		{"unknown setting of a kind", `fleets: [{ecs: {cluster: c, groupName: g}}]`, []string{"fleets[0].ecs.groupName: unknown field (known: cluster, endpoint, protectionExpiry, region, service, statusPort)"}},
		{"key in the wrong case", `fleets: [{ecs: {statusport: 1}}]`, []string{"fleets[0].ecs.statusport: unknown field"}},
		{"number wanted", `fleets: [{ecs: {statusPort: http}}]`, []string{`fleets[0].ecs.statusPort: want a whole number, got "http"`}},
		{"quoted number", `fleets: [{asg: {statusPort: "8081"}}]`, []string{`fleets[0].asg.statusPort: want a whole number, got "8081"`}},
		{"fraction", `fleets: [{local: {maxWorkers: 2.5}}]`, []string{"fleets[0].local.maxWorkers: want a whole number, got 2.5"}},
		{"overflow", `fleets: [{maxCapacity: 99999999999999999999}]`, []string{"fleets[0].maxCapacity: want a whole number"}},
		{"duration", `fleets: [{local: {stopGrace: soon}}]`, []string{`fleets[0].local.stopGrace: duration "soon": want a Go duration`}},
		{"boolean", `fleets: [{cloudwatch: {raw: yes please}}]`, []string{`fleets[0].cloudwatch.raw: want true or false, got "yes please"`}},
		{"list wanted", `fleets: [{local: {command: "qscale worker"}}]`, []string{`fleets[0].local.command: want a list, got "qscale worker"`}},
		{"mapping wanted", `fleets: [{ecs: [cluster]}]`, []string{"fleets[0].ecs: want a mapping of keys to values, got a list"}},
		{"list element", `fleets: [{local: {command: [a, {b: c}]}}]`, []string{"fleets[0].local.command[1]: want a string, got a mapping"}},
		{"env list", `fleets: [{local: {env: [NOEQUALS]}}]`, []string{`fleets[0].local.env[0]: "NOEQUALS": want NAME=value`}},
		{"env shape", `fleets: [{local: {env: 3}}]`, []string{"fleets[0].local.env: want a mapping of NAME: value or a list of NAME=value, got 3"}},
		{"dimensions", `fleets: [{cloudwatch: {dimensions: [{Name: Q, Valu: x}]}}]`, []string{"fleets[0].cloudwatch.dimensions[0].Valu: unknown field (known: Name, Value)"}},
		{"policy field", `fleets: [{policies: [{targetTracking: {TargetValue: x}}]}]`, []string{`fleets[0].policies[0].targetTracking.TargetValue: want a number, got "x"`}},
		{"duplicate key", "fleets:\n- maxCapacity: 1\n  maxCapacity: 2\n", []string{"fleets[0].maxCapacity: given twice"}},
		{"every problem at once", `fleets: [{ecs: {statusPort: x, protectionExpiry: y}, nope: 1}]`, []string{
			"fleets[0].ecs.statusPort:", "fleets[0].ecs.protectionExpiry:", "fleets[0].nope: unknown field"}},
		{"old layout: fleet", `fleet: {kind: memory}`, []string{"fleet: unknown field: fleets are a list now"}},
		{"old layout: queue at the top", `queue: {url: http://x/q}`, []string{"queue: unknown field: queue belongs to a fleet now"}},
		{"old layout: kind", `fleets: [{kind: ecs, settings: {}}]`, []string{"fleets[0].kind: unknown field: a fleet's kind is its section now", "fleets[0].settings: unknown field"}},
		{"old name of asg", `fleets: [{ec2-asg: {}}]`, []string{"fleets[0].ec2-asg: unknown field: the EC2 Auto Scaling group fleet's section is `asg:`"}},
		{"not YAML", "fleets: [", []string{"not YAML or JSON"}},
		{"two documents", "fleets: []\n---\nfleets: []\n", []string{"one document expected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c config.Config
			err := config.Decode([]byte(tc.doc), &c)
			if err == nil {
				t.Fatalf("%s: no error", tc.doc)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s:\nerror %v\nwant it to contain %q", tc.doc, err, w)
				}
			}
		})
	}
}

// The errors are *policy.FieldError values, so callers can read the path.
func TestDecodeErrorsAreFieldErrors(t *testing.T) {
	t.Parallel()
	var c config.Config
	err := config.Decode([]byte(`fleets: [{ecs: {statusPort: x}}]`), &c)
	var fe *policy.FieldError
	if !errors.As(err, &fe) || fe.Path != "fleets[0].ecs.statusPort" {
		t.Fatalf("error %v (%T), want a FieldError for fleets[0].ecs.statusPort", err, err)
	}
}

func TestDecodeShapes(t *testing.T) {
	t.Parallel()
	var c config.Config
	err := config.Decode([]byte(`
fleets:
  - queue: jobs
    local:
      command: [qscale, worker, --concurrency, 4, --, ./h.sh]
      env: {B: 2, A: x}
      stopGrace: 45
    cloudwatch: {dimensions: {Q: jobs, Env: prod}}
  - queue: {url: "http://127.0.0.1:9324/000000000000/jobs", region: eu-west-1}
    memory:
    local: {env: [A=1]}
    cloudwatch: {dimensions: {}}
`), &c)
	if err != nil {
		t.Fatal(err)
	}
	f0, f1 := c.Fleets[0], c.Fleets[1]
	if f0.Queue.Name != "jobs" || f1.Queue.URL != "http://127.0.0.1:9324/000000000000/jobs" || f1.Queue.Region != "eu-west-1" {
		t.Errorf("queues %+v, %+v", f0.Queue, f1.Queue)
	}
	if want := []string{"qscale", "worker", "--concurrency", "4", "--", "./h.sh"}; !reflect.DeepEqual(f0.Local.Command, want) {
		t.Errorf("command %q", f0.Local.Command)
	}
	if !reflect.DeepEqual(f0.Local.Env, config.Env{"A=x", "B=2"}) || !reflect.DeepEqual(f1.Local.Env, config.Env{"A=1"}) {
		t.Errorf("env %q, %q", f0.Local.Env, f1.Local.Env)
	}
	if f0.Local.StopGrace.D() != 45*time.Second {
		t.Errorf("stopGrace %s", f0.Local.StopGrace)
	}
	if f1.Memory == nil {
		t.Error("memory: (null) did not select the memory fleet")
	}
	if want := (config.Dimensions{{Name: "Env", Value: "prod"}, {Name: "Q", Value: "jobs"}}); !reflect.DeepEqual(f0.CloudWatch.Dimensions, want) {
		t.Errorf("dimensions %+v", f0.CloudWatch.Dimensions)
	}
	if d := f1.CloudWatch.Dimensions; d == nil || len(d) != 0 {
		t.Errorf("dimensions {} = %#v, want empty and not nil", d)
	}
}

// Nested aliases cannot make a small file expensive.
func TestDecodeBoundsAliases(t *testing.T) {
	t.Parallel()
	doc := `a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
`
	var v struct {
		A, B, C, D, E, F, G any
	}
	if err := config.Decode([]byte(doc), &v); err == nil {
		t.Fatal("no error for ten million expanded nodes")
	}
}

// FuzzDecode: any input is a configuration or an error, never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`fleets: [{queue: {url: "http://127.0.0.1:9324/000000000000/q"}, maxCapacity: 3, memory: {startDelay: 1s}, policies: [{latency: {acceptableWait: 10s}}]}]`,
		`{"fleets": [{"queue": "q", "worker": {"demo": "10ms"}, "maxCapacity": 1, "policies": [{"targetTracking": {"TargetValue": 1}}]}], "queues": [{"name": "q"}]}`,
		`fleets: [{local: {env: {A: 1}}, cloudwatch: {dimensions: [{Name: a, Value: b}]}}]`,
		"a: &a [1]\nb: [*a, *a]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c config.Config
		_ = config.Decode(data, &c)
		for _, use := range []config.Use{config.ForAutoscale, config.ForUp} {
			if c, err := config.Parse(data, t.TempDir(), use); err == nil {
				if _, err := c.Fleets[0].BuildPolicies(); err != nil {
					t.Fatalf("valid configuration whose policies do not build: %v", err)
				}
			}
		}
	})
}
