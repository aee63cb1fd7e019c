package webguard

import "net/http"

// Protect guards h, a listener's path for programs and people (metrics,
// the producer endpoint), with the three checks in order: without a token,
// the request must be addressed to an IP address, localhost or one of
// allowed (no DNS rebinding); a request that a browser sent for a page of
// another site is refused; with a token, the request must carry it
// (Token.Authorized). name says whose listener it is in the refusals
// ("the admin listener").
func Protect(h http.Handler, token *Token, allowed []string, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == nil && !HostAllowed(r.Host, allowed) {
			http.Error(w, name+" answers to IP addresses and localhost only, unless it has a token", http.StatusForbidden)
			return
		}
		if msg := CrossSite(r); msg != "" {
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		if !token.Authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="qscale"`)
			http.Error(w, "a token is required: Authorization: Bearer TOKEN", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
