package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/autoscale/console"
	"github.com/qscale/qscale/dashboard"
)

// A fleet with a failure report exports failwatch's series on /metrics
// with its fleet and queue labels; a fleet without one exports none.
func TestMetricsExportFailures(t *testing.T) {
	t.Parallel()
	fx := setup(t, "")
	report := func() dashboard.Failures {
		return dashboard.Failures{Failed: 4, DeadLetterQueue: "jobs-dlq", DeadLetterMessages: 3}
	}
	c, err := console.New(console.Options{Listen: "127.0.0.1:0", Fleets: []console.Fleet{
		{Name: "web", Queue: "jobs", Controller: fx.ctrl, Backend: fx.backend, Failures: report},
		{Name: "quiet", Queue: "jobs", Controller: fx.ctrl, Backend: fx.backend},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	code, body := get(t, srv.URL+"/metrics")
	if code != http.StatusOK ||
		!strings.Contains(body, `qscale_handler_failures_total{fleet="web",queue="jobs"} 4`) ||
		!strings.Contains(body, `qscale_dead_letter_messages{dead_letter_queue="jobs-dlq",fleet="web",queue="jobs"} 3`) ||
		strings.Contains(body, `qscale_handler_failures_total{fleet="quiet"`) {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
}
