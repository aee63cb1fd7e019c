package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/qscale/qscale/internal/clock"
)

const (
	testKeyID  = "AKIDQSCALETEST"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testRegion = "eu-west-3"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// setup starts a server on 127.0.0.1 whose handler reads the body and answers
// 200 "ok" or the Verify error as JSON with its status; now is the verifier's
// fake time.
func setup(t *testing.T, now time.Time) string {
	t.Helper()
	u, _ := setupFake(t, now)
	return u
}

// setupFake is setup that also returns the verifier's clock.
func setupFake(t *testing.T, now time.Time) (string, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(now)
	v := NewVerifier(map[string]string{testKeyID: testSecret, "AKIDOTHER": "other-secret"}, clk)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := v.Verify(r, body); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				http.Error(w, "not an *Error: "+err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(e.Status)
			_ = json.NewEncoder(w).Encode(e)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, clk
}

// send sends req and returns nil when the server accepted it, else the
// server's *Error.
func send(t *testing.T, req *http.Request) *Error {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if string(data) != "ok" {
			t.Fatalf("200 with body %q", data)
		}
		return nil
	}
	if resp.StatusCode == http.StatusInternalServerError {
		t.Fatalf("server: %s", data)
	}
	var e Error
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, data, err)
	}
	if e.Status != resp.StatusCode {
		t.Fatalf("status %d but error says %d", resp.StatusCode, e.Status)
	}
	return &e
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type sdkCase struct {
	name    string
	method  string
	path    string // with raw query
	body    string
	headers map[string]string
	token   string
}

var sdkCases = []sdkCase{
	{name: "query protocol POST", method: "POST", path: "/123456789012/jobs",
		body:    "Action=SendMessage&MessageBody=hello+world%21&Version=2012-11-05",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}},
	{name: "JSON protocol POST", method: "POST", path: "/",
		body: `{"QueueUrl":"http://127.0.0.1/123456789012/jobs","MessageBody":"héllo"}`,
		headers: map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage",
			"X-Amz-Meta-Spaces": "  a   b    c  "}},
	{name: "GET without body, query params", method: "GET",
		path: "/123456789012/jobs?Action=ReceiveMessage&WaitTimeSeconds=20&AttributeName.1=All&MessageAttributeName.1=a%2Fb%20c&empty="},
	{name: "session token", method: "POST", path: "/", body: "Action=ListQueues", token: "FwoGZXIvYXdzEXAMPLE//token+with/odd=chars",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
	{name: "content sha256 header", method: "POST", path: "/q", body: "Action=PurgeQueue",
		headers: map[string]string{"X-Amz-Content-Sha256": hashOf([]byte("Action=PurgeQueue"))}},
	{name: "escaped path", method: "GET", path: "/123456789012/a%20queue%2Bname?x=%E2%9C%93"},
}

func sdkSigned(t *testing.T, base string, c sdkCase, secret string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret, SessionToken: c.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hashOf([]byte(c.body)), "sqs", testRegion, at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSDKSignedRequestsAreAccepted(t *testing.T) {
	t.Parallel()
	base := setup(t, t0.Add(3*time.Minute))
	for _, c := range sdkCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if e := send(t, sdkSigned(t, base, c, testSecret, t0)); e != nil {
				t.Fatalf("refused: %+v", e)
			}
		})
	}
}

func TestSDKSignedRequestsTampered(t *testing.T) {
	t.Parallel()
	base := setup(t, t0)
	post := sdkCases[0]
	tests := []struct {
		name   string
		mutate func(*http.Request)
		secret string
		code   string
		status int
		prefix string
	}{
		{name: "body changed", mutate: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("Action=SendMessage&MessageBody=hello+world%3F&Version=2012-11-05"))
		}, code: CodeSignatureDoesNotMatch, status: 403, prefix: msgSignatureWrong + "\n\nThe Canonical String for this request should have been\n'POST\n/123456789012/jobs\n"},
		{name: "signed header changed", mutate: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			code: CodeSignatureDoesNotMatch, status: 403, prefix: msgSignatureWrong},
		{name: "path changed", mutate: func(r *http.Request) { r.URL.Path = "/123456789012/other" },
			code: CodeSignatureDoesNotMatch, status: 403, prefix: msgSignatureWrong},
		{name: "query added", mutate: func(r *http.Request) { r.URL.RawQuery = "Action=DeleteQueue" },
			code: CodeSignatureDoesNotMatch, status: 403, prefix: msgSignatureWrong},
		{name: "wrong secret", secret: "not-the-secret",
			code: CodeSignatureDoesNotMatch, status: 403, prefix: msgSignatureWrong},
		{name: "unknown key", mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testKeyID, "AKIDUNKNOWN", 1))
		}, code: CodeInvalidClientTokenID, status: 403, prefix: "The security token included in the request is invalid."},
		{name: "authorization removed", mutate: func(r *http.Request) { r.Header.Del("Authorization") },
			code: CodeMissingAuthenticationToken, status: 403, prefix: "Request is missing Authentication Token"},
		{name: "date header removed", mutate: func(r *http.Request) { r.Header.Del("X-Amz-Date") },
			code: CodeIncompleteSignature, status: 400,
			prefix: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential="},
		{name: "content sha256 that is not the body's", mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", hashOf([]byte("other")))
		}, code: CodeSignatureDoesNotMatch, status: 403, prefix: msgSignatureWrong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret := testSecret
			if tc.secret != "" {
				secret = tc.secret
			}
			req := sdkSigned(t, base, post, secret, t0)
			if tc.mutate != nil {
				tc.mutate(req)
			}
			e := send(t, req)
			if e == nil {
				t.Fatal("accepted")
			}
			if e.Code != tc.code || e.Status != tc.status || !strings.HasPrefix(e.Message, tc.prefix) {
				t.Fatalf("got %s %d %q, want %s %d prefix %q", e.Code, e.Status, e.Message, tc.code, tc.status, tc.prefix)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	c := sdkCases[0]
	tests := []struct {
		name string
		now  time.Time
		want string // "" = accepted
	}{
		{"15 min late is fine", t0.Add(15 * time.Minute), ""},
		{"15 min early is fine", t0.Add(-15 * time.Minute), ""},
		{"16 min late", t0.Add(16 * time.Minute),
			"Signature expired: 20260314T150926Z is now earlier than 20260314T150926Z (20260314T152526Z - 15 min.)"},
		{"16 min early", t0.Add(-16 * time.Minute),
			"Signature not yet current: 20260314T150926Z is still later than 20260314T150926Z (20260314T145326Z + 15 min.)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The 16-minute cases put the limit one minute off the request
			// date; fix the expected middle timestamp accordingly.
			base := setup(t, tc.now)
			e := send(t, sdkSigned(t, base, c, testSecret, t0))
			if tc.want == "" {
				if e != nil {
					t.Fatalf("refused: %+v", e)
				}
				return
			}
			if e == nil {
				t.Fatal("accepted")
			}
			want := tc.want
			if strings.HasPrefix(want, "Signature expired") {
				want = strings.Replace(want, "earlier than 20260314T150926Z", "earlier than 20260314T151026Z", 1)
			} else {
				want = strings.Replace(want, "later than 20260314T150926Z", "later than 20260314T150826Z", 1)
			}
			if e.Code != CodeSignatureDoesNotMatch || e.Status != 403 || e.Message != want {
				t.Fatalf("got %s %d %q, want %q", e.Code, e.Status, e.Message, want)
			}
		})
	}
}

func sdkPresigned(t *testing.T, base, pathQuery, token string, expires time.Duration) string {
	t.Helper()
	req, err := http.NewRequest("GET", base+pathQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	if expires > 0 {
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
		req.URL.RawQuery = q.Encode()
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: token}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hashOf(nil), "sqs", testRegion, t0)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func get(t *testing.T, u string) *Error {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

func TestSDKPresigned(t *testing.T) {
	t.Parallel()
	pq := "/123456789012/jobs?Action=ReceiveMessage&MaxNumberOfMessages=10&Attr=a%20b%2Fc"
	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		base := setup(t, t0.Add(time.Minute))
		for _, u := range []string{
			sdkPresigned(t, base, pq, "", 0),
			sdkPresigned(t, base, pq, "session/token+=", 0),
			sdkPresigned(t, base, pq, "", 5*time.Minute),
		} {
			if e := get(t, u); e != nil {
				t.Fatalf("%s refused: %+v", u, e)
			}
		}
	})
	t.Run("expired by X-Amz-Expires", func(t *testing.T) {
		t.Parallel()
		base := setup(t, t0.Add(5*time.Minute+time.Second))
		e := get(t, sdkPresigned(t, base, pq, "", 5*time.Minute))
		if e == nil || e.Code != CodeRequestExpired || e.Status != 400 || e.Message != "Request has expired." {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("tampered query", func(t *testing.T) {
		t.Parallel()
		base := setup(t, t0)
		u := strings.Replace(sdkPresigned(t, base, pq, "", 0), "MaxNumberOfMessages=10", "MaxNumberOfMessages=9", 1)
		if e := get(t, u); e == nil || e.Code != CodeSignatureDoesNotMatch {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("body added", func(t *testing.T) {
		t.Parallel()
		base := setup(t, t0)
		req, _ := http.NewRequest("GET", sdkPresigned(t, base, pq, "", 0), strings.NewReader("smuggled"))
		if e := send(t, req); e == nil || e.Code != CodeSignatureDoesNotMatch {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("missing parameters", func(t *testing.T) {
		t.Parallel()
		base := setup(t, t0)
		u, _ := url.Parse(sdkPresigned(t, base, pq, "", 0))
		q := u.Query()
		q.Del("X-Amz-Credential")
		q.Del("X-Amz-Date")
		u.RawQuery = q.Encode()
		e := get(t, u.String())
		want := "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
		if e == nil || e.Code != CodeIncompleteSignature || e.Status != 400 || e.Message != want {
			t.Fatalf("got %+v", e)
		}
	})
}

// TestMalformed covers the refusals that happen before any cryptography,
// with hand-written headers.
func TestMalformed(t *testing.T) {
	t.Parallel()
	date := t0.Format(basicFormat)
	goodCred := testKeyID + "/20260314/us-east-1/sqs/aws4_request"
	tests := []struct {
		name, auth, date string
		code             string
		status           int
		msg              string
	}{
		{"no header", "", date, CodeMissingAuthenticationToken, 403, "Request is missing Authentication Token"},
		{"sigv2 header", "AWS AKID:c2ln", date, CodeMissingAuthenticationToken, 403, "Request is missing Authentication Token"},
		{"only algorithm", "AWS4-HMAC-SHA256", "", CodeIncompleteSignature, 400,
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"},
		{"missing equal sign", "AWS4-HMAC-SHA256 Credential=" + testKeyID + " /20260314/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00", date,
			CodeIncompleteSignature, 400,
			"'/20260314/us-east-1/sqs/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=" + testKeyID + " /20260314/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00'."},
		{"bad date", "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host, Signature=00", "2026-03-14",
			CodeIncompleteSignature, 400, "Date must be in ISO-8601 'basic format'. Got '2026-03-14'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"bad algorithm", "AWS4-HMAC-SHA1 Credential=" + goodCred + ", SignedHeaders=host, Signature=00", date,
			CodeIncompleteSignature, 400, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). "},
		{"short credential", "AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=00", date,
			CodeIncompleteSignature, 400, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"},
		{"host not signed", "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=x-amz-date, Signature=00", date,
			CodeSignatureDoesNotMatch, 403, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"wrong scope", "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20260313/us-east-1/s3/aws4_reques, SignedHeaders=host, Signature=00", date,
			CodeSignatureDoesNotMatch, 403,
			"Credential should be scoped to correct service: 'sqs'. Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reques'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260313' != '20260314', from '20260314T150926Z'."},
		{"unknown key", "AWS4-HMAC-SHA256 Credential=AKIDNOPE/20260314/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00", date,
			CodeInvalidClientTokenID, 403, "The security token included in the request is invalid."},
		{"garbage signature", "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date, Signature=zz", date,
			CodeSignatureDoesNotMatch, 403, ""},
	}
	v := NewVerifier(map[string]string{testKeyID: testSecret}, clock.NewFake(t0))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "http://sqs.local/", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.date != "" {
				r.Header.Set("X-Amz-Date", tc.date)
			}
			err := v.Verify(r, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *Error", err)
			}
			if e.Code != tc.code || e.Status != tc.status || (tc.msg != "" && e.Message != tc.msg) {
				t.Fatalf("got %s %d %q\nwant %s %d %q", e.Code, e.Status, e.Message, tc.code, tc.status, tc.msg)
			}
		})
	}
}

// TestDateHeader checks a request dated by the Date header instead of
// X-Amz-Date, signed by hand following the spec.
func TestDateHeader(t *testing.T) {
	t.Parallel()
	v := NewVerifier(map[string]string{testKeyID: testSecret}, clock.NewFake(t0))
	r := httptest.NewRequest("GET", "http://sqs.local/?Action=ListQueues", nil)
	r.Header.Set("Date", t0.Format(http.TimeFormat))
	canon := "GET\n/\nAction=ListQueues\ndate:" + t0.Format(http.TimeFormat) + "\nhost:sqs.local\n\ndate;host\n" + hashOf(nil)
	scope := "20260314/" + testRegion + "/sqs/aws4_request"
	sts := "AWS4-HMAC-SHA256\n20260314T150926Z\n" + scope + "\n" + hashOf([]byte(canon))
	sig := hex.EncodeToString(hmacSHA256(signingKey([]byte("AWS4"+testSecret), "20260314", testRegion), sts))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKeyID+"/"+scope+", SignedHeaders=date;host, Signature="+sig)
	if err := v.Verify(r, nil); err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Date", t0.Add(time.Second).Format(http.TimeFormat))
	if err := v.Verify(r, nil); err == nil {
		t.Fatal("accepted a changed Date")
	}
}

func TestCanonicalQuery(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	canonicalQuery(&b, "b=2&a=z&a=y&c&sp=a+b&enc=%2f%7e&X-Amz-Signature=ff&u=%E2%9C%93", true)
	want := "a=y&a=z&b=2&c=&enc=%2F~&sp=a%20b&u=%E2%9C%93"
	if b.String() != want {
		t.Fatalf("got %q\nwant %q", b.String(), want)
	}
}

func TestErrorIsComparable(t *testing.T) {
	t.Parallel()
	v := NewVerifier(nil, clock.NewFake(t0))
	err := v.Verify(httptest.NewRequest("GET", "/", bytes.NewReader(nil)), nil)
	if err == nil || err.Error() != "MissingAuthenticationToken: Request is missing Authentication Token" {
		t.Fatalf("got %v", err)
	}
}
