package webguard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/internal/webguard"
)

func TestHostAllowed(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1:9324": true, "localhost": true, "LocalHost:80": true, "[::1]:9324": true, "::1": true,
		"10.1.2.3": true, "box.lan:9324": true, "BOX.LAN": true,
		"evil.example": false, "localhost.evil.example:9324": false, "127.0.0.1.nip.io": false, "": false, ":9324": false,
	} {
		if got := webguard.HostAllowed(host, []string{"box.lan"}); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
	if h := webguard.HostOf("https://sqs.box.lan:8443/"); h != "sqs.box.lan" {
		t.Errorf("HostOf = %q", h)
	}
}

func TestCrossSite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header []string
		cross  bool
	}{
		{nil, false}, // SDKs and CLIs
		{[]string{"Sec-Fetch-Site", "same-origin"}, false},
		{[]string{"Sec-Fetch-Site", "none"}, false}, // typed in the address bar
		{[]string{"Sec-Fetch-Site", "cross-site"}, true},
		{[]string{"Sec-Fetch-Site", "same-site"}, true}, // another port of localhost
		{[]string{"Origin", "http://127.0.0.1:9324"}, false},
		{[]string{"Origin", "http://127.0.0.1:3000"}, true},
		{[]string{"Origin", "null"}, true},
		{[]string{"Origin", "https://evil.example"}, true},
		{[]string{"Referer", "http://127.0.0.1:9324/page"}, false},
		{[]string{"Referer", "http://evil.example/page"}, true},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9324/", nil)
		for i := 0; i+1 < len(tc.header); i += 2 {
			r.Header.Set(tc.header[i], tc.header[i+1])
		}
		if got := webguard.CrossSite(r); (got != "") != tc.cross {
			t.Errorf("%v: CrossSite = %q, want cross-site %v", tc.header, got, tc.cross)
		}
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	if tok := webguard.NewToken(""); tok != nil || !tok.Authorized(httptest.NewRequest("GET", "/", nil)) {
		t.Fatal("no token must authorise everything")
	}
	tok := webguard.NewToken("s3cret")
	w := httptest.NewRecorder()
	tok.SetCookie(w, httptest.NewRequest("GET", "/?token=s3cret", nil))
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != webguard.CookieName || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %+v", cs)
	}
	if strings.Contains(cs[0].Value, "s3cret") {
		t.Fatalf("the cookie %q carries the token", cs[0].Value)
	}
	// Another guard of the same token in this process (the console's and
	// the dashboard's) accepts the same cookie.
	same := webguard.NewToken("s3cret")
	for _, tc := range []struct {
		name, header, value string
		want                bool
	}{
		{"nothing", "", "", false},
		{"bearer", "Authorization", "Bearer s3cret", true},
		{"bearer in lower case", "Authorization", "bearer s3cret", true},
		{"BEARER", "Authorization", "BEARER s3cret", true},
		{"wrong bearer", "Authorization", "Bearer nope", false},
		{"prefix of the token", "Authorization", "Bearer s3cre", false},
		{"basic", "Authorization", "Basic s3cret", false},
		{"session cookie", "Cookie", cs[0].Name + "=" + cs[0].Value, true},
		{"the token as the cookie", "Cookie", webguard.CookieName + "=s3cret", false},
		{"another token's cookie", "Cookie", webguard.CookieName + "=" + cookieOf(t, "other"), false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := same.Authorized(r); got != tc.want {
			t.Errorf("%s: Authorized = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func cookieOf(t *testing.T, token string) string {
	t.Helper()
	w := httptest.NewRecorder()
	webguard.NewToken(token).SetCookie(w, httptest.NewRequest("GET", "/", nil))
	return w.Result().Cookies()[0].Value
}

func FuzzCrossSite(f *testing.F) {
	f.Add("127.0.0.1:9324", "http://127.0.0.1:9324", "cross-site", "http://x/")
	f.Add("[::1", "http://[::1", "", "%zz")
	f.Fuzz(func(t *testing.T, host, origin, site, referer string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", site)
		r.Header.Set("Referer", referer)
		_ = webguard.CrossSite(r)
		_ = webguard.HostAllowed(host, []string{"box.lan"})
		_ = webguard.HostOf(origin)
	})
}
