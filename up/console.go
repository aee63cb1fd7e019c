package up

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qscale/qscale/autoscale/console"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/webguard"
	"github.com/qscale/qscale/producer"
)

// startConsole serves the console: each fleet's dashboard at /fleets/NAME/
// (the first one's at / too) with the list at /fleets/ and /api/fleets,
// the producer endpoint at /queue/NAME, Prometheus metrics at /metrics and
// /healthz.
func (s *System) startConsole(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("/queue/", s.guard(producer.NewHandler(producer.NewEngineSender(s.srv.Engine), producer.Options{Prefix: "/queue/"})))
	mux.Handle("/metrics", s.guard(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	var dashes []*dashboard.Dashboard
	var links []console.FleetLink
	var handlers []http.Handler
	for _, r := range s.runs {
		d, err := s.newDashboard(r)
		if err != nil {
			return err
		}
		dashes = append(dashes, d)
		links = append(links, console.FleetLink{Name: r.cfg.Name, Kind: r.cfg.Kind(), Queues: r.cfg.QueueNames()})
		handlers = append(handlers, d)
	}
	console.MountFleets(mux, links, handlers, s.guard)
	mux.Handle("/", dashes[0])

	ln, err := net.Listen("tcp", s.cfg.Console.Listen)
	if err != nil {
		return err
	}
	s.consoleLn = ln
	s.console = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: the dashboard's event stream stays open.
	}
	// The dashboard stops before the listener (the reverse order): it ends
	// its event streams, which Shutdown would otherwise wait for.
	if err := s.parts.Defer("console", func(ctx context.Context) error {
		err := s.console.Shutdown(ctx)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	}); err != nil {
		ln.Close()
		return err
	}
	for i, d := range dashes {
		if err := s.parts.Start(ctx, "dashboard "+s.runs[i].cfg.Name, d); err != nil {
			ln.Close()
			return err
		}
	}
	go func() {
		if err := s.console.Serve(ln); err != nil && err != http.ErrServerClosed {
			s.log.Error("console stopped", "err", err)
		}
	}()
	return nil
}

// guard protects the console's producer endpoint and metrics the way the
// dashboard is protected (webguard.Protect): with a token, a request must
// carry it (bearer token or the dashboard's session cookie); without one,
// it must be addressed to an IP address or localhost (no DNS rebinding).
// Either way a request that a browser sent for a page of another site is
// refused: GET /queue/NAME?message= sends a message, which an <img> on any
// page could otherwise do.
func (s *System) guard(h http.Handler) http.Handler {
	return webguard.Protect(h, webguard.NewToken(s.cfg.Console.Token), nil, "the console")
}
