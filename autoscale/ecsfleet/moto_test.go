package ecsfleet_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/qscale/qscale/internal/mototest"
)

// motoEndpoint is the moto server TestMain started for this test binary;
// empty when moto_server is not installed.
var motoEndpoint string

func TestMain(m *testing.M) {
	endpoint, stop, err := mototest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "moto:", err)
		os.Exit(1)
	}
	motoEndpoint = endpoint
	code := m.Run()
	stop()
	os.Exit(code)
}

func needMoto(t *testing.T) string {
	t.Helper()
	return mototest.Need(t, motoEndpoint)
}
