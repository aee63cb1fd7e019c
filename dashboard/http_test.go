package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/dashboard"
)

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{token: "s3cret"})
	for _, tc := range []struct {
		name   string
		path   string
		header []string
		want   int
	}{
		{"page without token", "/", nil, http.StatusUnauthorized},
		{"api without token", "/api/queues", nil, http.StatusUnauthorized},
		{"events without token", "/api/events", nil, http.StatusUnauthorized},
		{"asset without token", "/assets/app.js", nil, http.StatusUnauthorized},
		{"wrong bearer", "/api/queues", []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized},
		{"bearer of a prefix", "/api/queues", []string{"Authorization", "Bearer s3cre"}, http.StatusUnauthorized},
		{"basic scheme", "/api/queues", []string{"Authorization", "Basic s3cret"}, http.StatusUnauthorized},
		{"wrong cookie", "/api/queues", []string{"Cookie", dashboard.CookieName + "=nope"}, http.StatusUnauthorized},
		{"wrong query token", "/?token=nope", nil, http.StatusUnauthorized},
		{"bearer", "/api/queues", []string{"Authorization", "Bearer s3cret"}, http.StatusOK},
		{"bearer lower case", "/api/queues", []string{"Authorization", "bearer s3cret"}, http.StatusOK},
		{"the token as the cookie", "/api/queues", []string{"Cookie", dashboard.CookieName + "=s3cret"}, http.StatusUnauthorized},
		{"query token redirects", "/?token=s3cret", nil, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do(t, "GET", tc.path, "", tc.header...)
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s: status %d, want %d: %s", tc.path, resp.StatusCode, tc.want, readAll(t, resp))
			}
			if tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" && !strings.Contains(tc.path, "token=") {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}

	// ?token= sets an HttpOnly, SameSite=Strict cookie and drops the token
	// from the address.
	resp := s.do(t, "GET", "/?token=s3cret&x=1", "")
	if loc := resp.Header.Get("Location"); loc != "/?x=1" {
		t.Errorf("redirect to %q, want /?x=1", loc)
	}
	cs := resp.Cookies()
	if len(cs) != 1 || cs[0].Name != dashboard.CookieName || strings.Contains(cs[0].Value, "s3cret") || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" {
		t.Fatalf("cookies = %+v, want one HttpOnly SameSite=Strict cookie that is not the token", cs)
	}
	// Under a prefix, the redirect keeps it.
	mux := http.NewServeMux()
	mux.Handle("/dash/", http.StripPrefix("/dash", s.dash))
	pre := httptest.NewServer(mux)
	defer pre.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	presp, err := client.Get(pre.URL + "/dash/?token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if loc := presp.Header.Get("Location"); presp.StatusCode != http.StatusSeeOther || loc != "/dash/" {
		t.Errorf("under /dash/: status %d, redirect to %q, want 303 to /dash/", presp.StatusCode, loc)
	}

	resp = s.do(t, "GET", "/", "", "Cookie", cs[0].String())
	if resp.StatusCode != http.StatusOK || !strings.Contains(readAll(t, resp), "<title>qscale</title>") {
		t.Errorf("page with the cookie: status %d", resp.StatusCode)
	}
}

func TestNoTokenMeansOpen(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	if resp := s.do(t, "GET", "/api/queues", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
}

// Without a token, only requests addressed to an IP address, localhost or an
// allowed name are answered: DNS rebinding cannot reach the dashboard.
func TestHostCheckWithoutToken(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "LOCALHOST": 200, "[::1]:80": 200, "10.1.2.3": 200,
		"evil.example:8080": 403, "localhost.evil.example": 403, "": 403,
	} {
		req := httptest.NewRequest("GET", "/api/queues", nil)
		req.Host = host
		w := httptest.NewRecorder()
		s.dash.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("Host %q: status %d, want %d", host, w.Code, want)
		}
	}
	d, err := dashboard.New(dashboard.Options{Backend: s.backend, AllowedHosts: []string{"box.lan"}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/queues", nil)
	req.Host = "box.lan:8080"
	w := httptest.NewRecorder()
	d.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Errorf("allowed host: status %d, want 200", w.Code)
	}
	// With a token, any name is answered (the token is the protection).
	tok := setup(t, setupOptions{token: "t"})
	req = httptest.NewRequest("GET", "/api/queues", nil)
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer t")
	w = httptest.NewRecorder()
	tok.dash.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Errorf("with a token: status %d, want 200", w.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	for _, path := range []string{"/", "/assets/app.js", "/api/queues", "/nope"} {
		resp := s.do(t, "GET", path, "")
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
	// The page names no other host: it works offline.
	page := readAll(t, s.do(t, "GET", "/", ""))
	if strings.Contains(page, "//") && strings.Contains(page, "http") {
		t.Errorf("page refers to another host:\n%s", page)
	}
	for _, asset := range []string{"/assets/app.js", "/assets/app.css", "/assets/vendor/uplot/uPlot.iife.min.js", "/assets/vendor/uplot/uPlot.min.css", "/assets/vendor/uplot/LICENSE"} {
		if resp := s.do(t, "GET", asset, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", asset, resp.StatusCode)
		}
	}
	if resp := s.do(t, "GET", "/assets/", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/assets/ listing: status %d, want 404", resp.StatusCode)
	}
}

func TestCSRFRefusals(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{token: "tok"})
	host := strings.TrimPrefix(s.srv.URL, "http://")
	auth := []string{"Authorization", "Bearer tok", "Content-Type", "application/json"}
	for _, tc := range []struct {
		name   string
		header []string
		want   int
	}{
		{"no origin evidence", nil, http.StatusForbidden},
		{"cross-site", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-site", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"user-initiated", []string{"Sec-Fetch-Site", "none"}, http.StatusForbidden},
		{"cross-site with csrf header", []string{"Sec-Fetch-Site", "cross-site", dashboard.CSRFHeader, "1"}, http.StatusForbidden},
		{"other origin", []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"other port", []string{"Origin", "http://127.0.0.1:1"}, http.StatusForbidden},
		{"null origin", []string{"Origin", "null"}, http.StatusForbidden},
		{"other origin with csrf header", []string{"Origin", "http://evil.example", dashboard.CSRFHeader, "1"}, http.StatusForbidden},
		{"same origin, wrong site", []string{"Origin", "http://" + host, "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://" + host}, http.StatusOK},
		{"origin alone", []string{"Origin", "http://" + host}, http.StatusOK},
		{"csrf header", []string{dashboard.CSRFHeader, "1"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do(t, "POST", "/api/queues/jobs/send", `{"body":"x"}`, append(append([]string{}, auth...), tc.header...)...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, readAll(t, resp))
			}
		})
	}
	// The token is still needed with a passing origin check.
	resp := s.do(t, "POST", "/api/queues/jobs/send", `{"body":"x"}`, dashboard.CSRFHeader, "1", "Content-Type", "application/json")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", resp.StatusCode)
	}
	if n := s.jobs.Counts().Visible; n != 3 {
		t.Errorf("queue holds %d messages, want the 3 accepted sends", n)
	}
}

func TestBadInputIs4xx(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	ok := []string{dashboard.CSRFHeader, "1", "Content-Type", "application/json"}
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		want                     int
	}{
		{"send: not JSON", "POST", "/api/queues/jobs/send", `body=x`, ok, 400},
		{"send: empty", "POST", "/api/queues/jobs/send", ``, ok, 400},
		{"send: empty body field", "POST", "/api/queues/jobs/send", `{"body":""}`, ok, 400},
		{"send: no body field", "POST", "/api/queues/jobs/send", `{}`, ok, 400},
		{"send: unknown field", "POST", "/api/queues/jobs/send", `{"body":"x","delay":5}`, ok, 400},
		{"send: two values", "POST", "/api/queues/jobs/send", `{"body":"x"}{"body":"y"}`, ok, 400},
		{"send: body not a string", "POST", "/api/queues/jobs/send", `{"body":5}`, ok, 400},
		{"send: array", "POST", "/api/queues/jobs/send", `[1]`, ok, 400},
		{"send: invalid UTF-8", "POST", "/api/queues/jobs/send", "{\"body\":\"\xff\"}", ok, 400},
		{"send: characters SQS refuses", "POST", "/api/queues/jobs/send", `{"body":"\u0001"}`, ok, 400},
		{"send: too large for SQS", "POST", "/api/queues/jobs/send", `{"body":"` + strings.Repeat("x", 1<<20+1) + `"}`, ok, 413},
		{"send: too large", "POST", "/api/queues/jobs/send", `{"body":"` + strings.Repeat("x", 9<<20) + `"}`, ok, 413},
		{"send: form content type", "POST", "/api/queues/jobs/send", `{"body":"x"}`, []string{dashboard.CSRFHeader, "1", "Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"send: bad queue name", "POST", "/api/queues/j%20obs/send", `{"body":"x"}`, ok, 400},
		{"send: no such queue", "POST", "/api/queues/nope/send", `{"body":"x"}`, ok, 404},
		{"send: GET", "GET", "/api/queues/jobs/send", ``, nil, 405},
		{"purge: body", "POST", "/api/queues/jobs/purge", `{"all":true}`, ok, 400},
		{"purge: junk", "POST", "/api/queues/jobs/purge", `}{`, ok, 400},
		{"purge: no such queue", "POST", "/api/queues/nope/purge", ``, ok, 404},
		{"purge: bad name", "POST", "/api/queues/a.b/purge", ``, ok, 400},
		{"decisions: n not a number", "GET", "/api/decisions?n=x", ``, nil, 400},
		{"decisions: n zero", "GET", "/api/decisions?n=0", ``, nil, 400},
		{"decisions: n huge", "GET", "/api/decisions?n=99999999999999999999", ``, nil, 400},
		{"unknown path", "GET", "/api/nope", ``, nil, 404},
		{"unknown asset", "GET", "/assets/nope.js", ``, nil, 404},
		{"DELETE", "DELETE", "/api/queues/jobs/purge", ``, ok, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do(t, tc.method, tc.path, tc.body, tc.header...)
			body := readAll(t, resp)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s: status %d, want %d: %.200s", tc.method, tc.path, resp.StatusCode, tc.want, body)
			}
			if strings.HasPrefix(tc.path, "/api/queues/") && tc.want != 405 {
				var e struct{ Error string }
				if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\":...}", body)
				}
			}
		})
	}
	if n := s.jobs.Counts().Visible; n != 0 {
		t.Errorf("bad requests left %d messages", n)
	}
}

func TestSendAndPurge(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	ok := []string{dashboard.CSRFHeader, "1", "Content-Type", "application/json; charset=utf-8"}
	resp := s.do(t, "POST", "/api/queues/jobs/send", `{"body":"hello"}`, ok...)
	var sent struct{ MessageID string }
	if err := json.Unmarshal([]byte(readAll(t, resp)), &sent); resp.StatusCode != 200 || err != nil || len(sent.MessageID) != 36 {
		t.Fatalf("send: status %d, message ID %q", resp.StatusCode, sent.MessageID)
	}
	if n := s.jobs.Counts().Visible; n != 1 {
		t.Fatalf("visible = %d after send, want 1", n)
	}
	// A FIFO queue gets a group and a deduplication ID.
	if _, err := s.engine.CreateQueue(context.Background(), "orders.fifo", map[string]string{"FifoQueue": "true"}, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if resp := s.do(t, "POST", "/api/queues/orders.fifo/send", `{"body":"same"}`, ok...); resp.StatusCode != 200 {
			t.Fatalf("send to FIFO: status %d: %s", resp.StatusCode, readAll(t, resp))
		}
	}
	if q, _ := s.engine.Queue("orders.fifo"); q.Counts().Visible != 2 {
		t.Errorf("FIFO queue holds %d messages, want 2", q.Counts().Visible)
	}

	resp = s.do(t, "POST", "/api/queues/jobs/purge", ``, ok...)
	if resp.StatusCode != 200 {
		t.Fatalf("purge: status %d: %s", resp.StatusCode, readAll(t, resp))
	}
	if n := s.jobs.Counts().Visible; n != 0 {
		t.Errorf("visible = %d after purge, want 0", n)
	}
	// SQS allows one purge a minute.
	resp = s.do(t, "POST", "/api/queues/jobs/purge", `{}`, ok...)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("second purge: status %d, want 409", resp.StatusCode)
	}
}

func TestQueuesAndDecisions(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	ctx := context.Background()
	if _, err := s.jobs.Send(ctx, queueSend("a")); err != nil {
		t.Fatal(err)
	}
	resp := s.do(t, "GET", "/api/queues", "")
	var qs []dashboard.QueueInfo
	if err := json.Unmarshal([]byte(readAll(t, resp)), &qs); err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Name != "jobs" || qs[1].Name != "jobs-dlq" {
		t.Fatalf("queues = %+v", qs)
	}
	if qs[0].Attributes["ApproximateNumberOfMessages"] != "1" || qs[0].Attributes["QueueArn"] == "" || !strings.HasSuffix(qs[0].URL, "/jobs") {
		t.Errorf("jobs = %+v", qs[0])
	}
	if qs[1].Attributes["MessageRetentionPeriod"] != "1209600" {
		t.Errorf("jobs-dlq retention = %q", qs[1].Attributes["MessageRetentionPeriod"])
	}

	for range 3 {
		s.ctl.Tick(ctx)
	}
	resp = s.do(t, "GET", "/api/decisions?n=2", "")
	var ds []struct {
		Seq   uint64
		Rule  string
		From  int
		To    int
		Ticks int
		Text  string
	}
	if err := json.Unmarshal([]byte(readAll(t, resp)), &ds); err != nil {
		t.Fatal(err)
	}
	// Ticks 2 and 3 hold at 1: one entry, newest first, then the wake.
	if len(ds) != 2 || ds[0].Seq != 3 || ds[0].Ticks != 2 || ds[1].Seq != 1 || ds[1].Rule != "wake" ||
		!strings.HasPrefix(ds[0].Text, "holding at 1 since ") || !strings.HasPrefix(ds[1].Text, "scale out 0 -> 1: ") {
		t.Fatalf("decisions = %+v, want the holds of seq 2..3 as one entry, then seq 1 (newest first)", ds)
	}
}

// The send and purge endpoints answer any body and any queue name with a
// status below 500.
func FuzzSendPurgeHandlers(f *testing.F) {
	for _, seed := range []struct{ name, body, ct string }{
		{"jobs", `{"body":"x"}`, "application/json"},
		{"jobs", `{"body":"\u0000"}`, "application/json"},
		{"orders.fifo", `{"body":"x"}`, ""},
		{"nope", `{"body":"x"}`, "application/json"},
		{"a%2Fb", `{}`, "text/plain"},
		{"jobs", "{\"body\":\"\xed\xa0\x80\"}", "application/json"},
		{"jobs", `[]`, "application/json; charset=utf-8"},
	} {
		f.Add(seed.name, seed.body, seed.ct, false)
		f.Add(seed.name, seed.body, seed.ct, true)
	}
	sys := setup(f, setupOptions{})
	if _, err := sys.engine.CreateQueue(context.Background(), "orders.fifo", map[string]string{"FifoQueue": "true"}, nil); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, body, contentType string, purge bool) {
		action := "send"
		if purge {
			action = "purge"
		}
		req := httptest.NewRequest("POST", "/api/queues/x/"+action, strings.NewReader(body))
		req.URL.Path = "/api/queues/" + name + "/" + action
		req.URL.RawPath = ""
		req.Host = "127.0.0.1"
		req.Header.Set(dashboard.CSRFHeader, "1")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		sys.dash.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("POST %q with %q: status %d: %s", req.URL.Path, body, w.Code, w.Body)
		}
	})
}
