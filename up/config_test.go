package up

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/config"
)

func TestQuickstartIsValid(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fleets[0]
	if c.Server.Listen != config.DefaultServerListen || c.Console.Listen != config.DefaultConsoleListen {
		t.Fatalf("quickstart listens on %s and %s; want loopback defaults", c.Server.Listen, c.Console.Listen)
	}
	if f.Queue.Name != "demo" || f.MaxCapacity != 10 || f.Worker == nil || f.Worker.Demo.D() != 10*time.Millisecond {
		t.Fatalf("quickstart fleet %+v", f)
	}
}

// qscale up reads the file for itself: queues by name, workers on this
// machine.
func TestParseConfigIsForUp(t *testing.T) {
	t.Parallel()
	_, err := ParseConfig([]byte(`queues: [{name: a}]
fleets: [{queue: a, ecs: {cluster: c, service: s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}]`), "")
	if err == nil || !strings.Contains(err.Error(), "fleets[0].ecs: qscale up runs its workers on this machine") {
		t.Fatalf("an ECS fleet in qscale up: %v", err)
	}
}
