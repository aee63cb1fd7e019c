package sigv4

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const python = "/root/.pyenv/shims/python3"

// signScript signs one request with botocore, the signer inside boto3 and
// the AWS CLI, and prints the signed URL and headers as JSON.
const signScript = `
import json, sys
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.loads(sys.argv[1])
req = AWSRequest(method=a["method"], url=a["url"], data=a["body"].encode(), headers=a["headers"])
creds = Credentials(a["key"], a["secret"], a["token"] or None)
if a["presign"]:
    SigV4QueryAuth(creds, "sqs", a["region"], expires=a["presign"]).add_auth(req)
else:
    SigV4Auth(creds, "sqs", a["region"]).add_auth(req)
p = req.prepare()
print(json.dumps({"url": p.url, "headers": dict(p.headers)}))
`

type botoArgs struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
	Key     string            `json:"key"`
	Secret  string            `json:"secret"`
	Token   string            `json:"token"`
	Region  string            `json:"region"`
	Presign int               `json:"presign"`
}

func botoSign(t *testing.T, a botoArgs) *http.Request {
	t.Helper()
	if a.Key == "" {
		a.Key = testKeyID
	}
	if a.Secret == "" {
		a.Secret = testSecret
	}
	a.Region = "us-east-1"
	if a.Headers == nil {
		a.Headers = map[string]string{}
	}
	arg, _ := json.Marshal(a)
	out, err := exec.Command(python, "-c", signScript, string(arg)).Output()
	if err != nil {
		t.Fatalf("botocore: %v", err)
	}
	var signed struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(out, &signed); err != nil {
		t.Fatalf("botocore output %q: %v", out, err)
	}
	req, err := http.NewRequest(a.Method, signed.URL, bytes.NewReader([]byte(a.Body)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range signed.Headers {
		req.Header.Set(k, v)
	}
	return req
}

// signedAt is the time botocore signed req at.
func signedAt(t *testing.T, req *http.Request) time.Time {
	t.Helper()
	v := req.Header.Get("X-Amz-Date")
	if v == "" {
		v = req.URL.Query().Get("X-Amz-Date")
	}
	at, err := time.Parse(basicFormat, v)
	if err != nil {
		t.Fatalf("botocore date %q: %v", v, err)
	}
	return at
}

func TestBotocore(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
	if err := exec.Command(python, "-c", "import botocore.auth").Run(); err != nil {
		t.Skipf("python3 lacks botocore: %v", err)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
	body := "Action=SendMessage&MessageBody=from+botocore&Version=2012-11-05"
	tests := []struct {
		name   string
		args   botoArgs
		skew   time.Duration // verifier clock = signing time + skew
		mutate func(*http.Request)
		code   string // "" = accepted
	}{
		{name: "query protocol", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form}},
		{name: "JSON protocol with token", args: botoArgs{Method: "POST", URL: "/", Body: `{"QueueName":"jobs"}`, Token: "IQoJb3JpZ2luX2VjEXAMPLE",
			Headers: map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.GetQueueUrl"}}},
		{name: "GET with query", args: botoArgs{Method: "GET", URL: "/123456789012/jobs?Action=ReceiveMessage&AttributeName.1=All&x=a%20b"}},
		{name: "presigned", args: botoArgs{Method: "GET", URL: "/123456789012/jobs?Action=GetQueueAttributes&AttributeName.1=All", Presign: 300}},
		{name: "presigned with token", args: botoArgs{Method: "GET", URL: "/?Action=ListQueues", Presign: 300, Token: "tok/en+="}},
		{name: "presigned with an added X-Amz-Target", args: botoArgs{Method: "POST", URL: "/123456789012/jobs?Action=SendMessage&MessageBody=x", Presign: 300},
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonSQS.PurgeQueue") }, code: CodeSignatureDoesNotMatch},
		{name: "presigned with an added Content-Type and body", args: botoArgs{Method: "POST", URL: "/123456789012/jobs?Action=SendMessage&MessageBody=x", Presign: 300},
			mutate: func(r *http.Request) {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader("Action=DeleteQueue")), 18
			}, code: CodeSignatureDoesNotMatch},
		{name: "header form with an added X-Amz-Target", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form},
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonSQS.DeleteQueue") }, code: CodeSignatureDoesNotMatch},
		{name: "presigned expired", args: botoArgs{Method: "GET", URL: "/?Action=ListQueues", Presign: 300},
			skew: 301 * time.Second, code: CodeRequestExpired},
		{name: "changed body", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form},
			mutate: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "botocore", "attacker", 1)))
			}, code: CodeSignatureDoesNotMatch},
		{name: "changed header", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form},
			mutate: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-amz-json-1.0") }, code: CodeSignatureDoesNotMatch},
		{name: "wrong secret", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form, Secret: "wrong"},
			code: CodeSignatureDoesNotMatch},
		{name: "unknown key", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form, Key: "AKIDUNKNOWN"},
			code: CodeInvalidClientTokenID},
		{name: "expired date", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form},
			skew: 16 * time.Minute, code: CodeSignatureDoesNotMatch},
		{name: "date in the future", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form},
			skew: -16 * time.Minute, code: CodeSignatureDoesNotMatch},
		{name: "missing date header", args: botoArgs{Method: "POST", URL: "/123456789012/jobs", Body: body, Headers: form},
			mutate: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, code: CodeIncompleteSignature},
		{name: "missing signed header", args: botoArgs{Method: "POST", URL: "/", Body: `{}`, Token: "tok",
			Headers: map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"}},
			mutate: func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") }, code: CodeSignatureDoesNotMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// botocore signs at the wall-clock time, so the verifier's fake
			// clock starts far in the past and is moved to the signing time
			// plus skew once botocore has signed.
			base, clk := setupFake(t, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
			a := tc.args
			a.URL = base + a.URL
			req := botoSign(t, a)
			clk.Set(signedAt(t, req).Add(tc.skew))
			if tc.mutate != nil {
				tc.mutate(req)
			}
			e := send(t, req)
			switch {
			case tc.code == "" && e != nil:
				t.Fatalf("refused: %+v", e)
			case tc.code != "" && e == nil:
				t.Fatal("accepted")
			case tc.code != "" && e.Code != tc.code:
				t.Fatalf("got %+v, want %s", e, tc.code)
			}
		})
	}
}
