package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qscale/qscale/internal/peekapi"
	"github.com/qscale/qscale/internal/webguard"
	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/queue/queuemetrics"
	"github.com/qscale/qscale/store/pebblestore"
)

// ops is what the server offers its operators besides the SQS API: the
// Prometheus registry, the health of the store, and the admin listener
// that serves them (docs/operations.md).
type ops struct {
	reg      *prometheus.Registry
	store    *pebblestore.Store // nil in memory
	stopping atomic.Bool        // Stop began: not ready
	ln       net.Listener       // nil without an admin listener
	http     *http.Server
}

// checkOps checks the operations settings before anything starts, and
// loads the TLS certificate.
func (cfg *Config) checkOps() (*tls.Config, error) {
	if cfg.AdminListen != "" {
		if _, _, err := net.SplitHostPort(cfg.AdminListen); err != nil {
			return nil, fmt.Errorf("admin listener %q: want host:port", cfg.AdminListen)
		}
		if cfg.AdminToken == "" && !loopbackListen(cfg.AdminListen) {
			return nil, fmt.Errorf("refusing to serve the admin listener on %s without a token: anyone who reaches it "+
				"could send messages through /queue/ and copy the store; set an admin token (--admin-token or "+
				"QSCALE_ADMIN_TOKEN), or listen on 127.0.0.1", cfg.AdminListen)
		}
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("TLS needs both a certificate and its key (--tls-cert and --tls-key)")
	}
	if cfg.TLSCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// scheme is the server's URL scheme.
func scheme(cfg Config) string {
	if cfg.TLSCertFile != "" {
		return "https"
	}
	return "http"
}

// serveHTTP serves on ln, over TLS when the server has a TLS
// configuration.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// startOps builds the registry (the engine's queues, the SQS requests,
// the store's health, the Go runtime and the process) and starts the admin
// listener when one is configured, over TLS when tlsConfig is not nil.
func (s *Server) startOps(ps *pebblestore.Store, reqs *requestMetrics, tlsConfig *tls.Config) error {
	s.ops.store = ps
	s.ops.reg = prometheus.NewRegistry()
	s.ops.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		queuemetrics.New(s.Engine),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qscale_sqs_parked_long_polls",
			Help: "Long polls waiting for messages off net/http: each holds its connection, no goroutine.",
		}, func() float64 { return float64(s.api.Parked()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qscale_store_ready",
			Help: "1 while the store accepts new messages; 0 while its disk is below the free-space watermark or it is recovering from a failed write.",
		}, func() float64 {
			if s.storeHealth() != nil {
				return 0
			}
			return 1
		}),
	)
	reqs.register(s.ops.reg)
	if s.cfg.AdminListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.AdminListen)
	if err != nil {
		return fmt.Errorf("admin listener on %s: %w", s.cfg.AdminListen, err)
	}
	s.ops.ln = ln
	s.ops.http = &http.Server{
		Handler:           s.adminHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	go func() {
		if err := serveHTTP(s.ops.http, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ln.Close()
			s.cfg.Logger.Error("admin listener stopped", "err", err)
		}
	}()
	return nil
}

// stopOps stops the admin listener, letting its requests finish within
// ctx.
func (s *Server) stopOps(ctx context.Context) {
	if s.ops.http == nil {
		return
	}
	if err := s.ops.http.Shutdown(ctx); err != nil {
		s.ops.http.Close()
	}
}

// adminHandler routes the admin listener. /healthz and /readyz are open
// (probes carry no token); the rest is guarded like the console, including
// the message browser under /admin/queues/ (package peekapi).
func (s *Server) adminHandler() http.Handler {
	token := webguard.NewToken(s.cfg.AdminToken)
	guard := func(h http.Handler) http.Handler {
		return webguard.Protect(h, token, nil, "the admin listener")
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", guard(promhttp.HandlerFor(s.ops.reg, promhttp.HandlerOpts{})))
	mux.Handle("/queue/", guard(producer.NewHandler(producer.NewEngineSender(s.Engine), producer.Options{Prefix: "/queue/"})))
	mux.Handle("POST /admin/backup", guard(http.HandlerFunc(s.serveBackup)))
	browse := http.NewServeMux() // the message browser (package peekapi)
	peekapi.Register(browse, peekapi.AdminPrefix, peekapi.EnginePeeker{Engine: s.Engine})
	mux.Handle("GET "+peekapi.AdminPrefix, guard(browse))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Ready(); err != nil {
			plain(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		plain(w, http.StatusOK, "ready")
	})
	return mux
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}

// Ready returns nil while the server takes new messages; else why not:
// it is stopping, or its store is full or failed (ErrStoreFull,
// ErrStoreUnavailable of package queue, wrapped).
func (s *Server) Ready() error {
	if s.ops.stopping.Load() {
		return errors.New("the server is stopping")
	}
	return s.storeHealth()
}

func (s *Server) storeHealth() error {
	if s.ops.store == nil {
		return nil
	}
	return s.ops.store.Health()
}

// AdminAddr returns the admin listener's address, or "" without one.
func (s *Server) AdminAddr() string {
	if s.ops.ln == nil {
		return ""
	}
	return s.ops.ln.Addr().String()
}

// AdminURL returns the admin listener's URL, or "" without one.
func (s *Server) AdminURL() string {
	if s.ops.ln == nil {
		return ""
	}
	return scheme(s.cfg) + "://" + s.AdminAddr()
}

// Registry is the server's Prometheus registry, for serving elsewhere.
func (s *Server) Registry() *prometheus.Registry { return s.ops.reg }
