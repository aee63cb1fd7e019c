package autoscale_test

import (
	"testing"

	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/internal/service/servicetest"
)

// The controller keeps qscale's lifecycle contract.
func TestControllerLifecycle(t *testing.T) {
	t.Parallel()
	servicetest.Run(t, func(t *testing.T) service.Service {
		c, _ := setup(t, 0, nil)
		return c
	})
}
