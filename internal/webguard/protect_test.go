package webguard_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/qscale/qscale/internal/webguard"
)

func TestProtect(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, tc := range []struct {
		name, token, host string
		header            []string
		want              int
	}{
		{"loopback, no token", "", "127.0.0.1:9326", nil, http.StatusNoContent},
		{"rebound name, no token", "", "evil.example:9326", nil, http.StatusForbidden},
		{"cross-site, no token", "", "127.0.0.1:9326", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"token missing", "t", "box.lan:9326", nil, http.StatusUnauthorized},
		{"token wrong", "t", "box.lan:9326", []string{"Authorization", "Bearer x"}, http.StatusUnauthorized},
		{"token given, any name", "t", "box.lan:9326", []string{"Authorization", "Bearer t"}, http.StatusNoContent},
		{"token given, cross-site", "t", "box.lan:9326", []string{"Authorization", "Bearer t", "Origin", "http://evil.example"}, http.StatusForbidden},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Host = tc.host
		for i := 0; i+1 < len(tc.header); i += 2 {
			r.Header.Set(tc.header[i], tc.header[i+1])
		}
		w := httptest.NewRecorder()
		webguard.Protect(ok, webguard.NewToken(tc.token), nil, "the console").ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}
