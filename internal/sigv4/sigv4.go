// Package sigv4 verifies AWS Signature Version 4 on requests to qscale's
// SQS-compatible server, the way Amazon SQS does: the same canonical request,
// the same 15-minute clock-skew rule, and the same error codes, statuses and
// messages (see the constants in errors.go).
//
// Both forms are accepted: the Authorization header
//
//	Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=...
//
// and presigned URLs (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-SignedHeaders, X-Amz-Signature, optional X-Amz-Expires). Any region
// is accepted; the service must be "sqs". A session token
// (X-Amz-Security-Token) is accepted and is covered by the signature like any
// other signed header or query parameter; it is not checked against an
// issuer.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	service         = "sqs"
	terminator      = "aws4_request"
	basicFormat     = "20060102T150405Z"
	maxSkew         = 15 * time.Minute
	maxPresignAge   = 7 * 24 * time.Hour
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// Verifier checks SigV4 signatures against a fixed set of access keys. It is
// immutable after construction and safe for concurrent use.
type Verifier struct {
	keys map[string][]byte // access key id -> "AWS4"+secret
	clk  clock.Clock
}

// NewVerifier returns a Verifier for keys (access key id -> secret access
// key) that reads the time from clk. keys is copied.
func NewVerifier(keys map[string]string, clk clock.Clock) *Verifier {
	v := &Verifier{keys: make(map[string][]byte, len(keys)), clk: clk}
	for id, secret := range keys {
		v.keys[id] = []byte("AWS4" + secret)
	}
	return v
}

// signed is what a request claims about its own signature.
type signed struct {
	credential    string   // the whole Credential value
	keyID         string   // first element of the credential
	scopeDate     string   // YYYYMMDD from the credential
	region        string   // region from the credential
	scope         string   // date/region/service/terminator
	signedHeaders string   // as sent, e.g. "host;x-amz-date"
	headerNames   []string // signedHeaders split on ';'
	signature     string   // hex, as sent
	amzDate       string   // ISO-8601 basic format, e.g. 20260101T000000Z
	date          time.Time
	presigned     bool
	expires       time.Duration // presigned only; 0 when X-Amz-Expires is absent
}

// Verify checks r's signature. body is the full request body, already read;
// Verify does not read r.Body. It returns nil or an *Error carrying the AWS
// error code, HTTP status and message that Amazon SQS sends.
func (v *Verifier) Verify(r *http.Request, body []byte) error {
	if err := v.verify(r, body); err != nil {
		return err
	}
	return nil
}

func (v *Verifier) verify(r *http.Request, body []byte) *Error {
	var (
		s   *signed
		err *Error
	)
	query := r.URL.Query()
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(strings.TrimSpace(auth), "AWS4-"):
		s, err = parseHeader(r, auth)
	case query.Has("X-Amz-Algorithm") || query.Has("X-Amz-Signature"):
		s, err = parsePresigned(query)
	default:
		return errMissingToken()
	}
	if err != nil {
		return err
	}
	if err := v.checkTime(s); err != nil {
		return err
	}
	if !hasHost(s.headerNames) {
		return errMismatch("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if err := checkScope(s); err != nil {
		return err
	}
	secret, ok := v.keys[s.keyID]
	if !ok {
		return errInvalidClientID()
	}

	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	if !s.presigned {
		if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != bodyHash {
			return errMismatch("%s", msgSignatureWrong)
		}
	} else if claimed := query.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != bodyHash &&
		(claimed != unsignedPayload || len(body) != 0) {
		return errMismatch("%s", msgSignatureWrong)
	}

	if name := unsignedHeader(r, s.headerNames, len(body) > 0); name != "" {
		return errMismatch("There were headers present in the request which were not signed: %s", name)
	}

	want, herr := hex.DecodeString(s.signature)
	if herr != nil || len(want) != sha256.Size {
		want = nil // compared below anyway, so that timing does not tell
	}
	key := signingKey(secret, s.scopeDate, s.region)
	canon := canonicalRequest(r, s, bodyHash)
	sts := stringToSign(s, canon)
	if got := hmacSHA256(key, sts); want != nil && hmac.Equal(got, want) {
		return nil
	}
	// Presigning signers (botocore's SigV4QueryAuth among them) sign the
	// constant UNSIGNED-PAYLOAD instead of the body's hash. Accept that only
	// when there is no body, so no unsigned bytes ever get through.
	if s.presigned && len(body) == 0 {
		alt := canonicalRequest(r, s, unsignedPayload)
		if got := hmacSHA256(key, stringToSign(s, alt)); want != nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errMismatch("%s\n\nThe Canonical String for this request should have been\n'%s'\n\nThe String-to-Sign should have been\n'%s'\n",
		msgSignatureWrong, canon, sts)
}

// parseHeader reads the Authorization-header form.
func parseHeader(r *http.Request, auth string) (*signed, *Error) {
	trimmed := strings.TrimSpace(auth)
	alg, rest, _ := strings.Cut(trimmed, " ")
	params := map[string]string{}
	for _, part := range strings.FieldsFunc(rest, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errIncomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, auth)
		}
		params[k] = val
	}
	s := &signed{}
	amzDate := r.Header.Get("X-Amz-Date")
	httpDate := r.Header.Get("Date")
	var missing strings.Builder
	for _, name := range []string{"Credential", "Signature", "SignedHeaders"} {
		if _, ok := params[name]; !ok || (name != "SignedHeaders" && params[name] == "") {
			missing.WriteString("Authorization header requires '" + name + "' parameter. ")
		}
	}
	if amzDate == "" && httpDate == "" {
		missing.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if missing.Len() > 0 {
		return nil, errIncomplete("%sAuthorization=%s", missing.String(), auth)
	}
	if amzDate != "" {
		t, err := parseBasic(amzDate)
		if err != nil {
			return nil, err
		}
		s.date, s.amzDate = t, amzDate
	} else {
		t, perr := http.ParseTime(httpDate)
		if perr != nil {
			return nil, errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", httpDate)
		}
		s.date, s.amzDate = t.UTC(), t.UTC().Format(basicFormat)
	}
	if alg != algorithm {
		return nil, errIncomplete("Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", alg)
	}
	s.signature = params["Signature"]
	s.signedHeaders = params["SignedHeaders"]
	if err := s.setCredential(params["Credential"]); err != nil {
		return nil, err
	}
	s.headerNames = splitHeaders(s.signedHeaders)
	return s, nil
}

// parsePresigned reads the presigned-URL form.
func parsePresigned(q map[string][]string) (*signed, *Error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var missing strings.Builder
	for _, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if get(name) == "" {
			missing.WriteString("AWS query-string parameters must include '" + name + "'. ")
		}
	}
	if missing.Len() > 0 {
		return nil, errIncomplete("%sRe-examine the query-string parameters.", missing.String())
	}
	s := &signed{presigned: true}
	t, err := parseBasic(get("X-Amz-Date"))
	if err != nil {
		return nil, err
	}
	s.date, s.amzDate = t, get("X-Amz-Date")
	if alg := get("X-Amz-Algorithm"); alg != algorithm {
		return nil, errIncomplete("Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", alg)
	}
	if raw, ok := q["X-Amz-Expires"]; ok && len(raw) > 0 {
		n, perr := strconv.ParseInt(raw[0], 10, 64)
		switch {
		case perr != nil:
			return nil, errQueryParams("X-Amz-Expires should be a number")
		case n < 0:
			return nil, errQueryParams("X-Amz-Expires must be non-negative")
		case n > int64(maxPresignAge/time.Second):
			return nil, errQueryParams("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
		}
		s.expires = time.Duration(n) * time.Second
		if s.expires == 0 {
			s.expires = -1 // present and zero: already expired
		}
	}
	s.signature = get("X-Amz-Signature")
	s.signedHeaders = get("X-Amz-SignedHeaders")
	if err := s.setCredential(get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	s.headerNames = splitHeaders(s.signedHeaders)
	return s, nil
}

func parseBasic(v string) (time.Time, *Error) {
	t, err := time.Parse(basicFormat, v)
	if err != nil || len(v) != len(basicFormat) {
		return time.Time{}, errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", v)
	}
	return t, nil
}

func (s *signed) setCredential(cred string) *Error {
	s.credential = cred
	parts := strings.Split(strings.TrimRight(cred, "/"), "/")
	if len(parts) != 5 {
		return errIncomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
	}
	s.keyID, s.scopeDate, s.region = parts[0], parts[1], parts[2]
	s.scope = strings.Join(parts[1:], "/")
	return nil
}

// checkScope checks the credential scope: region present, service sqs,
// terminator aws4_request, date equal to the request's day.
func checkScope(s *signed) *Error {
	parts := strings.Split(s.scope, "/")
	var msg strings.Builder
	if parts[1] == "" {
		msg.WriteString("Credential should be scoped to a valid region, not ''. ")
	}
	if parts[2] != service {
		msg.WriteString("Credential should be scoped to correct service: '" + service + "'. ")
	}
	if parts[3] != terminator {
		msg.WriteString("Credential should be scoped with a valid terminator: '" + terminator + "', not '" + parts[3] + "'. ")
	}
	if day := s.amzDate[:8]; parts[0] != day {
		msg.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			parts[0] + "' != '" + day + "', from '" + s.amzDate + "'.")
	}
	if msg.Len() > 0 {
		return errMismatch("%s", msg.String())
	}
	return nil
}

// checkTime applies AWS's rule: the request date must be within 15 minutes
// of now, and a presigned URL with X-Amz-Expires must not be used after
// X-Amz-Date + X-Amz-Expires.
func (v *Verifier) checkTime(s *signed) *Error {
	now := v.clk.Now().UTC()
	if s.date.After(now.Add(maxSkew)) {
		return errMismatch("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			s.amzDate, now.Add(maxSkew).Format(basicFormat), now.Format(basicFormat))
	}
	if s.presigned && s.expires != 0 {
		if s.expires < 0 || now.After(s.date.Add(s.expires)) {
			return errExpired()
		}
		return nil
	}
	if s.date.Before(now.Add(-maxSkew)) {
		return errMismatch("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			s.amzDate, now.Add(-maxSkew).Format(basicFormat), now.Format(basicFormat))
	}
	return nil
}

func splitHeaders(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ";")
}

// unsignedHeader returns the first header of r that must be signed and is
// not among names, or "". Every X-Amz-* header must be signed, as AWS
// requires: X-Amz-Target chooses the action of the JSON protocol, so an
// unsigned one would let anyone who holds a signed request (a presigned URL
// above all) run another action with it. Content-Type must be signed when
// there is a body, since it decides how the query protocol reads that body.
func unsignedHeader(r *http.Request, names []string, hasBody bool) string {
	for name := range r.Header {
		amz := len(name) > 6 && strings.EqualFold(name[:6], "x-amz-")
		if !amz && !(hasBody && strings.EqualFold(name, "Content-Type")) {
			continue
		}
		if !hasName(names, name) {
			return strings.ToLower(name)
		}
	}
	return ""
}

func hasName(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func hasHost(names []string) bool {
	for _, n := range names {
		if strings.EqualFold(n, "host") || n == ":authority" {
			return true
		}
	}
	return false
}

// canonicalRequest builds the canonical request of the SigV4 spec.
func canonicalRequest(r *http.Request, s *signed, payloadHash string) string {
	var b strings.Builder
	b.Grow(256 + len(r.URL.RawQuery))
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	// Every service but S3 encodes the path a second time: the signer took
	// the already-escaped path and URI-encoded it again.
	uriEncode(&b, path, false)
	b.WriteByte('\n')
	canonicalQuery(&b, r.URL.RawQuery, s.presigned)
	b.WriteByte('\n')
	for _, name := range s.headerNames {
		lname := strings.ToLower(name)
		b.WriteString(lname)
		b.WriteByte(':')
		writeHeaderValue(&b, headerValues(r, lname))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(s.signedHeaders)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func headerValues(r *http.Request, lname string) []string {
	switch lname {
	case "host":
		return []string{r.Host}
	case "content-length":
		if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
			return vs
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	}
	return r.Header.Values(lname)
}

// writeHeaderValue writes values joined by commas, each trimmed and with
// runs of spaces collapsed to one.
func writeHeaderValue(b *strings.Builder, values []string) {
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		v = strings.TrimSpace(v)
		space := false
		for j := 0; j < len(v); j++ {
			c := v[j]
			if c == ' ' || c == '\t' {
				space = true
				continue
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
		}
	}
}

type pair struct{ k, v string }

// canonicalQuery writes the query parameters decoded, re-encoded per RFC 3986
// and sorted by name then value. X-Amz-Signature is left out of a presigned
// URL's canonical query.
func canonicalQuery(b *strings.Builder, raw string, presigned bool) {
	if raw == "" {
		return
	}
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescape(k), unescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		var ek, ev strings.Builder
		uriEncode(&ek, k, true)
		uriEncode(&ev, v, true)
		pairs = append(pairs, pair{ek.String(), ev.String()})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
}

// unescape decodes a query component the way url.ParseQuery does ('+' is a
// space); a malformed escape is kept as it is.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

const upperHex = "0123456789ABCDEF"

// uriEncode writes s with every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~) percent-encoded in upper-case hex; '/' is kept
// unless encodeSlash.
func uriEncode(b *strings.Builder, s string, encodeSlash bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

func stringToSign(s *signed, canon string) string {
	sum := sha256.Sum256([]byte(canon))
	return algorithm + "\n" + s.amzDate + "\n" + s.scope + "\n" + hex.EncodeToString(sum[:])
}

func signingKey(secret []byte, date, region string) []byte {
	k := hmacSHA256(secret, date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
