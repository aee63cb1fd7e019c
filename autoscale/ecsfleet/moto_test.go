package ecsfleet_test

import (
	"testing"

	"github.com/qscale/qscale/internal/mototest"
)

// motoEndpoint is the moto server TestMain started for this test binary;
// empty when moto_server is not installed.
var motoEndpoint string

func TestMain(m *testing.M) { mototest.Main(m, &motoEndpoint) }

func needMoto(t *testing.T) string {
	t.Helper()
	return mototest.Need(t, motoEndpoint)
}
