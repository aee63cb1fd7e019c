package up

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qscale/qscale/internal/webguard"
	"github.com/qscale/qscale/producer"
)

// startConsole serves the console: the dashboard at /, the producer
// endpoint at /queue/NAME, Prometheus metrics at /metrics and /healthz.
func (s *System) startConsole(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("/queue/", s.guard(producer.NewHandler(producer.NewEngineSender(s.srv.Engine), producer.Options{Prefix: "/queue/"})))
	mux.Handle("/metrics", s.guard(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	dash, err := s.newDashboard()
	if err != nil {
		return err
	}
	mux.Handle("/", dash)

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
	if err := s.parts.Start(ctx, "dashboard", dash); err != nil {
		ln.Close()
		return err
	}
	go func() {
		if err := s.console.Serve(ln); err != nil && err != http.ErrServerClosed {
			s.log.Error("console stopped", "err", err)
		}
	}()
	return nil
}

// guard protects the console's producer endpoint and metrics the way the
// dashboard is protected: with a token, a request must carry it (bearer
// token or the dashboard's session cookie, one check in webguard); without
// one, it must be addressed to an IP address or localhost (no DNS
// rebinding). Either way a request that a browser sent for a page of
// another site is refused: GET /queue/NAME?message= sends a message, which
// an <img> on any page could otherwise do.
func (s *System) guard(h http.Handler) http.Handler {
	return webguard.Require(webguard.NewToken(s.cfg.Console.Token), nil, h)
}
