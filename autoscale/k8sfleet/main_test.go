package k8sfleet_test

import (
	"os"
	"testing"

	"github.com/qscale/qscale/autoscale/k8sfleet/internal/k8stest"
)

// cluster is the control plane every test of this package shares: starting
// one takes seconds, so TestMain starts it once. Tests isolate themselves in
// namespaces of their own.
var cluster *k8stest.Cluster

func TestMain(m *testing.M) { os.Exit(k8stest.Main(m, &cluster)) }
