package k8sfleet_test

import (
	"os"
	"testing"

	"github.com/qscale/qscale/autoscale/k8sfleet/k8stest"
	"github.com/qscale/qscale/internal/qscalebin"
)

// cluster is the control plane every test of this package shares: starting
// one takes seconds, so TestMain starts it once. Tests isolate themselves in
// namespaces of their own.
var cluster *k8stest.Cluster

func TestMain(m *testing.M) {
	code := k8stest.Main(m, &cluster)
	qscalebin.Cleanup() // the binary TestQscaleAutoscaleCommand built
	os.Exit(code)
}
