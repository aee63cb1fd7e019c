package k8sfleet_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
)

// The product path end to end: the `qscale autoscale` binary, configured with
// a kubernetes fleet and a kubeconfig, watches a real qscale queue and
// sizes a Deployment on the control plane: 30 messages at 10 per worker make
// 3 workers; an empty queue brings it back to 0.
func TestQscaleAutoscaleCommand(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	dir := t.TempDir()

	endpoint := testserver.Start(t)
	queueURL := testserver.CreateQueue(t, endpoint, "jobs")
	cfg := filepath.Join(dir, "qscale.yaml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, `fleets:
  - queue:
      url: %s
    kubernetes:
      kubeconfig: %s
      namespace: %s
      deployment: %s
      statusPort: 9090
    minCapacity: 0
    maxCapacity: 10
    interval: 200ms
    policies:
      - name: ten-per-worker
        targetTracking:
          TargetValue: 10
          ScaleOutCooldown: 0
          ScaleInCooldown: 0
`, queueURL, fx.cl.Kubeconfig, fx.ns, fx.name), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p := qscalebin.Start(t, nil, "autoscale", "--config", cfg, "--log-level", "debug")

	for i := range 30 {
		testserver.Call(t, endpoint, url.Values{"Action": {"SendMessage"}, "QueueUrl": {queueURL}, "MessageBody": {fmt.Sprint("job ", i)}})
	}
	waitFor := func(want autoscale.FleetState) {
		t.Helper()
		fx.cl.Wait(t, 30*time.Second, fmt.Sprintf("the fleet at %+v", want), func(ctx context.Context) (bool, error) {
			select {
			case <-p.Done():
				return false, fmt.Errorf("qscale autoscale exited: %v\n%s", p.Err(), p.Output())
			default:
			}
			s, err := fx.fleet.State(ctx)
			return s.Size() == want, err
		})
	}
	waitFor(autoscale.FleetState{Desired: 3, Running: 3})
	testserver.Call(t, endpoint, url.Values{"Action": {"PurgeQueue"}, "QueueUrl": {queueURL}})
	waitFor(autoscale.FleetState{})
}
