package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/webguard"
	"github.com/qscale/qscale/queue"
)

//go:embed assets/index.html assets/app.js assets/messages.js assets/failures.js assets/app.css assets/messages.css assets/failures.css assets/vendor
var assetFS embed.FS

// CookieName is the cookie that carries the session after "?token=": a
// value derived from the token, valid until the process restarts (see
// webguard.Token).
const CookieName = webguard.CookieName

// CSRFHeader is the header that non-browser clients send on POST requests
// instead of Origin or Sec-Fetch-Site (any non-empty value). Browsers cannot
// send it cross-site without a CORS preflight, which the dashboard never
// answers.
const CSRFHeader = "X-Qscale-Csrf"

// maxSendBody bounds a send request: a 1 MiB message, JSON-escaped.
const maxSendBody = 8 << 20

// contentSecurityPolicy allows the page's own scripts, styles, images and
// connections and nothing else.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (d *Dashboard) routes() {
	d.tok = webguard.NewToken(d.o.Token)
	m := http.NewServeMux()
	assets, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(assets)
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, assets, "index.html")
	})
	m.Handle("GET /assets/", http.StripPrefix("/assets", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "/index.html" {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	m.HandleFunc("GET /api/events", d.serveEvents)
	m.HandleFunc("GET /api/history", func(w http.ResponseWriter, r *http.Request) {
		writeRawJSON(w, http.StatusOK, d.hist.appendJSON(nil))
	})
	m.HandleFunc("GET /api/queues", d.serveQueues)
	m.HandleFunc("GET /api/decisions", d.serveDecisions)
	m.HandleFunc("POST /api/queues/{name}/send", d.serveSend)
	m.HandleFunc("POST /api/queues/{name}/purge", d.servePurge)
	m.HandleFunc("GET /api/control", d.serveControl)
	m.HandleFunc("POST /api/pause", d.servePause(true))
	m.HandleFunc("POST /api/resume", d.servePause(false))
	d.browserRoutes(m) // messages.go
	d.mux = m
}

// ServeHTTP serves the page and its API. With a Token, a request without it
// gets 401; "?token=" with the right token sets the session cookie (derived
// from the token, never the token itself) and redirects to the same address
// without it. A POST must also pass a same-origin check: nothing may mark
// it as sent by another site (webguard.CrossSite), and Sec-Fetch-Site,
// Origin or the X-Qscale-Csrf header must be present. Otherwise it gets 403.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if d.tok == nil && !webguard.HostAllowed(r.Host, d.o.AllowedHosts) {
		writeError(w, http.StatusForbidden, "this dashboard answers to IP addresses and localhost only (see Options.AllowedHosts)")
		return
	}
	if d.tok != nil {
		if tok := r.URL.Query().Get("token"); tok != "" && r.Method == http.MethodGet {
			if !d.tok.Match(tok) {
				writeError(w, http.StatusUnauthorized, "wrong token")
				return
			}
			d.tok.SetCookie(w, r)
			// The original request line, so the redirect is right when the
			// dashboard is mounted under a prefix (http.StripPrefix).
			u, err := url.ParseRequestURI(r.RequestURI)
			if err != nil || r.RequestURI == "" {
				u = r.URL
			}
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			h.Set("Cache-Control", "no-store")
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if !d.tok.Authorized(r) {
			h.Set("WWW-Authenticate", `Bearer realm="qscale dashboard"`)
			writeError(w, http.StatusUnauthorized, "this dashboard needs its token: open the address `qscale up` printed (it ends in ?token=...)")
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if msg := sameOrigin(r); msg != "" {
			writeError(w, http.StatusForbidden, msg)
			return
		}
	}
	d.mux.ServeHTTP(w, r)
}

// sameOrigin returns why r fails the cross-site request check, or "".
func sameOrigin(r *http.Request) string {
	if msg := webguard.CrossSite(r); msg != "" {
		return msg
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		// "none": typed or bookmarked, which a POST never is.
		return "cross-site request refused (Sec-Fetch-Site: " + site + ")"
	}
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" && r.Header.Get(CSRFHeader) == "" {
		return "request refused: send it from the dashboard page, or set the " + CSRFHeader + " header"
	}
	return ""
}

func (d *Dashboard) serveQueues(w http.ResponseWriter, r *http.Request) {
	qs, err := d.o.Backend.Queues(r.Context())
	if err != nil {
		writeBackendError(w, err)
		return
	}
	if qs == nil {
		qs = []QueueInfo{}
	}
	slices.SortFunc(qs, func(a, b QueueInfo) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, qs)
}

func (d *Dashboard) serveDecisions(w http.ResponseWriter, r *http.Request) {
	n := decisionsOnConnect
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 10000 {
			writeError(w, http.StatusBadRequest, "n must be a whole number from 1 to 10000")
			return
		}
		n = v
	}
	d.syncDecisions()
	ds := d.log.Last(n)
	out := make([]autoscale.Decision, 0, len(ds))
	for i := len(ds) - 1; i >= 0; i-- {
		out = append(out, ds[i])
	}
	writeJSON(w, http.StatusOK, out)
}

// SendRequest is the body of POST /api/queues/{name}/send.
type SendRequest struct {
	Body string `json:"body"`
}

// decodeSend reads a send request's JSON: exactly one object with a
// non-empty, valid UTF-8 body and no unknown fields.
func decodeSend(r io.Reader) (SendRequest, error) {
	var req SendRequest
	b, err := io.ReadAll(r)
	if err != nil {
		return req, err
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD: refuse it instead.
	if !utf8.Valid(b) {
		return req, errors.New("the request must be valid UTF-8")
	}
	if err := decodeStrict(bytes.NewReader(b), &req); err != nil {
		return req, err
	}
	if req.Body == "" {
		return req, errors.New(`"body" is required and must not be empty`)
	}
	if !utf8.ValidString(req.Body) {
		return req, errors.New(`"body" must be valid UTF-8`)
	}
	return req, nil
}

// decodePurge reads a purge request's body: empty, or an empty JSON object.
func decodePurge(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 1<<10+1))
	if err != nil {
		return err
	}
	if len(b) > 1<<10 {
		return errors.New("purge takes no body")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	var v struct{}
	return decodeStrict(strings.NewReader(string(b)), &v)
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("bad JSON: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("bad JSON: more than one value")
	}
	return nil
}

func (d *Dashboard) serveSend(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !queue.ValidQueueName(name) {
		writeError(w, http.StatusBadRequest, "invalid queue name")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			writeError(w, http.StatusUnsupportedMediaType, "send takes application/json")
			return
		}
	}
	req, err := decodeSend(http.MaxBytesReader(w, r.Body, maxSendBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "request body too large") {
			writeError(w, http.StatusRequestEntityTooLarge, "request too large")
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id, err := d.o.Backend.Send(ctx, name, req.Body)
	if err != nil {
		writeBackendError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"messageId": id})
}

func (d *Dashboard) servePurge(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !queue.ValidQueueName(name) {
		writeError(w, http.StatusBadRequest, "invalid queue name")
		return
	}
	if err := decodePurge(r.Body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := d.o.Backend.Purge(ctx, name); err != nil {
		writeBackendError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"purged": name})
}

// writeBackendError answers a Backend error with its status (see ErrNotFound).
func writeBackendError(w http.ResponseWriter, err error) {
	writeError(w, backendStatus(err), err.Error())
}

func backendStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrUnsupported):
		return http.StatusNotImplemented
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	var qe *queue.Error
	if errors.As(err, &qe) {
		return qe.HTTPStatus() // the queue engine's one error table
	}
	return http.StatusBadGateway
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeRawJSON(w, status, mustJSON(v))
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
