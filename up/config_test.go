package up

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQuickstartIsValid(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:9324" || c.Console.Listen != "127.0.0.1:9325" {
		t.Fatalf("quickstart listens on %s and %s; want loopback defaults", c.Server.Listen, c.Console.Listen)
	}
	if c.Fleet.Queue != "demo" || c.Fleet.MinCapacity != 0 || c.Fleet.MaxCapacity != 10 || c.Fleet.Worker.Demo.D() != 10*time.Millisecond {
		t.Fatalf("quickstart fleet %+v", c.Fleet)
	}
	ps, err := c.autoscaleConfig("http://127.0.0.1:9324/000000000000/demo").BuildPolicies()
	if err != nil || len(ps) != 1 {
		t.Fatalf("quickstart policies: %d, %v", len(ps), err)
	}
}

func TestConfigErrorsNameTheirFields(t *testing.T) {
	t.Parallel()
	cases := []struct{ yaml, want string }{
		{`queues: [{name: a}]
fleet: {queue: b, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}`, `fleet.queue: "b" is not one of queues`},
		{`queues: [{name: a}, {name: a}]
fleet: {queue: a, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}`, `queues[1].name`},
		{`queues: [{name: a}]
fleet: {queue: a, worker: {demo: 1s, command: [x]}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}`, `fleet.worker: give exactly one`},
		{`queues: [{name: a}]
fleet: {queue: a, worker: {demo: 1s, flags: ["--queue-url=x"]}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}`, `fleet.worker.flags: --queue-url is set by qscale up`},
		{`queues: [{name: a}]
fleet: {queue: a, worker: {demo: 1s}, maxCapacity: 0, policies: [{targetTracking: {TargetValue: 1}}]}`, `fleet.maxCapacity`},
		{`queues: [{name: a}]
fleet: {queue: a, worker: {demo: 1s}, maxCapacity: 1, policies: []}`, `fleet.policies`},
		{`queues: [{name: a}]
fleet: {queue: a, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}
surprise: 1`, `field surprise not found`},
		{`server: {listen: nope}
queues: [{name: a}]
fleet: {queue: a, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}`, `server.listen`},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.yaml), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config\n%s\ngave %v; want an error containing %q", c.yaml, err, c.want)
		}
	}
}

func TestConfigPathsAreRelativeToTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tt.json"), []byte(`{"TargetValue": 42}`), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "qscale.yaml")
	if err := os.WriteFile(path, []byte(`queues: [{name: a}]
fleet: {queue: a, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTrackingFile: tt.json}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Fleet.Policies[0].TargetTracking == nil || c.Fleet.Policies[0].TargetTracking.TargetValue != 42 {
		t.Fatalf("targetTrackingFile not read: %+v", c.Fleet.Policies[0])
	}
	if c.Server.DataDir != filepath.Join(dir, "qscale-data") {
		t.Fatalf("data dir %s; want it next to the config file", c.Server.DataDir)
	}
}
