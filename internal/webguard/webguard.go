// Package webguard keeps web browsers from being used against qscale's HTTP
// listeners (the SQS endpoint, the console and its dashboard), and holds the
// one check of the console token.
//
// A listener that nothing authenticates (the SQS endpoint without access
// keys, the console without a token) is reachable by any web page the user
// opens: the page cannot read the answers of another origin, but it can
// send requests (a form POST, an <img> GET), and through DNS rebinding (its
// own name resolved to 127.0.0.1) it can even read them. Two checks stop
// that:
//
//   - HostAllowed: the Host header must be an IP address, "localhost" or a
//     name the operator configured. A rebound page addresses us by its own
//     name, which is none of these.
//   - CrossSite: a request that a browser marks as sent by another site
//     (Sec-Fetch-Site), or whose Origin or Referer is another host, is
//     refused. AWS SDKs and CLIs send none of these headers.
package webguard

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// HostAllowed reports whether host (a Host header, with or without a port)
// names this server in a way DNS rebinding cannot forge: an IP address,
// "localhost", or one of allowed (names without port, any case).
func HostAllowed(host string, allowed []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") || net.ParseIP(host) != nil {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(host, a) {
			return true
		}
	}
	return false
}

// HostOf returns the host name of rawURL ("http://box.lan:9324" -> "box.lan"),
// or "" when it has none; for building the allowed list from a base URL.
func HostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// CrossSite returns why r looks sent by a web page of another origin, or
// "" when nothing says so:
//
//   - Sec-Fetch-Site other than "same-origin" or "none" (a page of another
//     site, or of a same-site origin such as another port of localhost);
//   - an Origin header whose host:port is not r.Host ("null" included);
//   - a Referer whose host:port is not r.Host.
//
// Requests from programs carry none of these and pass.
func CrossSite(r *http.Request) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "cross-site request refused (Sec-Fetch-Site: " + site + ")"
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameHost(origin, r.Host) {
		return "cross-origin request refused (Origin " + quote(origin) + " is not " + quote(r.Host) + ")"
	}
	if ref := r.Header.Get("Referer"); ref != "" && !sameHost(ref, r.Host) {
		return "cross-origin request refused (sent from a page of another host)"
	}
	return ""
}

// sameHost reports whether rawURL is an http(s) URL whose host:port is host.
func sameHost(rawURL, host string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.EqualFold(u.Host, host)
}

// quote quotes s for a message, cut to a sane length.
func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// Require wraps h with the console's guard: with a token (tok not nil) a
// request must carry it (tok.Authorized); without one it must be addressed
// to an IP address, localhost or one of allowed (HostAllowed). Either way a
// request a browser marks as sent by another site is refused (CrossSite).
func Require(tok *Token, allowed []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok == nil && !HostAllowed(r.Host, allowed) {
			http.Error(w, "the console answers to IP addresses and localhost only, unless it has a token", http.StatusForbidden)
			return
		}
		if msg := CrossSite(r); msg != "" {
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		if !tok.Authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="qscale"`)
			http.Error(w, "a console token is required: Authorization: Bearer TOKEN", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
