package up

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	dash, stop, err := s.newDashboard(ctx)
	if err != nil {
		return err
	}
	s.stopConsole = stop
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
	go func() {
		if err := s.console.Serve(ln); err != nil && err != http.ErrServerClosed {
			s.log.Error("console stopped", "err", err)
		}
	}()
	return nil
}

// guard asks for the console token, when one is set, as a bearer token or
// the dashboard's cookie.
func (s *System) guard(h http.Handler) http.Handler {
	token := s.cfg.Console.Token
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tokenOK(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="qscale"`)
			http.Error(w, "a console token is required: Authorization: Bearer TOKEN", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func tokenOK(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if c, err := r.Cookie(consoleCookie); err == nil {
			got, ok = c.Value, true
		}
	}
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
