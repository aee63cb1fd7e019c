package dashboard_test

import (
	"testing"

	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/internal/service/servicetest"
)

// The dashboard's sampler keeps qscale's lifecycle contract.
func TestDashboardLifecycle(t *testing.T) {
	t.Parallel()
	servicetest.Run(t, func(t *testing.T) service.Service {
		return setup(t, setupOptions{}).dash
	})
}
