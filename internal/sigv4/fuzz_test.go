package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/qscale/qscale/internal/clock"
)

// FuzzVerify feeds arbitrary Authorization headers, dates, query strings and
// bodies. The seeds are well-formed requests signed with a secret the
// verifier does not hold, so every input must be refused with an *Error of
// status 400 or 403, and nothing may panic.
func FuzzVerify(f *testing.F) {
	for _, c := range sdkCases {
		req, _ := http.NewRequest(c.method, "http://sqs.local"+c.path, strings.NewReader(c.body))
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: "not-the-secret", SessionToken: c.token}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hashOf([]byte(c.body)), "sqs", testRegion, t0); err != nil {
			f.Fatal(err)
		}
		f.Add(req.Header.Get("Authorization"), req.Header.Get("X-Amz-Date"), req.URL.RawQuery, []byte(c.body))
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hashOf(nil), "sqs", testRegion, t0)
		if err != nil {
			f.Fatal(err)
		}
		pu, _ := url.Parse(u)
		f.Add("", "", pu.RawQuery, []byte(nil))
	}
	f.Add("AWS4-HMAC-SHA256 Credential=,,,=", "20260314T150926Z", "X-Amz-Algorithm=&X-Amz-Expires=-1", []byte("x"))
	f.Add("AWS4-", "", "%zz&=&&X-Amz-Signature", []byte{})
	v := NewVerifier(map[string]string{testKeyID: testSecret}, clock.NewFake(t0.Add(time.Minute)))
	f.Fuzz(func(t *testing.T, auth, date, rawQuery string, body []byte) {
		r := &http.Request{
			Method: "POST",
			URL:    &url.URL{Path: "/123456789012/jobs", RawQuery: rawQuery},
			Host:   "sqs.local",
			Header: http.Header{},
		}
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		if date != "" {
			r.Header["X-Amz-Date"] = []string{date}
		}
		err := v.Verify(r, body)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Verify = %v, want an *Error", err)
		}
		if e.Code == "" || (e.Status != 400 && e.Status != 403) {
			t.Fatalf("bad error %+v", e)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	body := []byte("Action=SendMessage&MessageBody=" + strings.Repeat("x", 200) + "&Version=2012-11-05")
	req, _ := http.NewRequest("POST", "http://127.0.0.1:9324/123456789012/jobs", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.ContentLength = int64(len(body))
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hashOf(body), "sqs", testRegion, t0); err != nil {
		b.Fatal(err)
	}
	req.Host = req.URL.Host
	v := NewVerifier(map[string]string{testKeyID: testSecret}, clock.NewFake(t0))
	if err := v.Verify(req, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}
