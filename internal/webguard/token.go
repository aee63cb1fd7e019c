package webguard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
)

// CookieName is the cookie that carries a console session after
// "?token=".
const CookieName = "qscale_dashboard"

// processKey keys the session cookies of this process: a cookie is valid
// for the life of the process that set it, and tells nothing about the
// token.
var processKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand panics rather than return an error)
	return k
})

// Token is the console token, checked the same way by every console path.
// A nil *Token means no token is set: Authorized accepts everything.
type Token struct {
	token  []byte
	cookie []byte // hex HMAC-SHA256 of token under processKey
}

// NewToken returns the guard for token, or nil when token is "".
func NewToken(token string) *Token {
	if token == "" {
		return nil
	}
	m := hmac.New(sha256.New, processKey())
	m.Write([]byte("qscale console session\x00"))
	m.Write([]byte(token))
	return &Token{token: []byte(token), cookie: []byte(hex.EncodeToString(m.Sum(nil)))}
}

// Match reports, in constant time, whether s is the token.
func (t *Token) Match(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), t.token) == 1
}

// Authorized reports whether r carries the token: as "Authorization: Bearer
// TOKEN" (the scheme in any case, RFC 9110), or as the session cookie that
// SetCookie set in this process. When an Authorization header is present it
// alone decides.
func (t *Token) Authorized(r *http.Request) bool {
	if t == nil {
		return true
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, ok := strings.Cut(auth, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && t.Match(strings.TrimSpace(tok))
	}
	for _, c := range r.CookiesNamed(CookieName) {
		if subtle.ConstantTimeCompare([]byte(c.Value), t.cookie) == 1 {
			return true
		}
	}
	return false
}

// SetCookie sets the session cookie on w: HttpOnly, SameSite=Strict, for
// every path, Secure over TLS. Its value is derived from the token under a
// key of this process, so the cookie is not the token: a copied cookie
// does not reveal it, and it stops working when the process restarts.
func (t *Token) SetCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: string(t.cookie), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
