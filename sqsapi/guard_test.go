package sqsapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/server"
)

// browserRequest sends what a browser sends for a page of another site:
// method and address, with the given Host (when not empty) and headers.
func browserRequest(t *testing.T, method, u, host, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Without access keys, the SQS endpoint refuses what a web page can make a
// browser send: a cross-site form POST (DeleteQueue), an <img> GET
// (CreateQueue), and requests of a page that pointed its own name at
// 127.0.0.1 (DNS rebinding, which could read ListQueues). The SDK keeps
// working, and the queue URLs it gets name the host it used.
func TestBrowsersOfOtherSitesRefusedWithoutKeys(t *testing.T) {
	ctx, c := setup(t)
	base := *c.Options().BaseEndpoint
	qurl := createQueue(t, ctx, c, "victim", nil)
	hostport := strings.TrimPrefix(base, "http://")

	form := url.Values{"Action": {"DeleteQueue"}, "QueueUrl": {qurl}}.Encode()
	for _, tc := range []struct {
		name, method, path, host, body string
		header                         []string
	}{
		{"cross-site form POST", "POST", "/", "", form,
			[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"}},
		{"form POST of an older browser", "POST", "/", "", form, []string{"Origin", "https://evil.example"}},
		{"form POST from another port of localhost", "POST", "/", "", form,
			[]string{"Origin", "http://127.0.0.1:3000", "Sec-Fetch-Site", "same-site"}},
		{"img GET", "GET", "/?Action=CreateQueue&QueueName=from-img", "", "",
			[]string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Dest", "image", "Referer", "https://evil.example/"}},
		{"img GET of an older browser", "GET", "/?Action=CreateQueue&QueueName=from-img", "", "",
			[]string{"Referer", "https://evil.example/"}},
		{"DNS rebinding", "POST", "/", "rebind.evil.example:" + strings.Split(hostport, ":")[1], "Action=ListQueues", nil},
	} {
		code, body := browserRequest(t, tc.method, base+tc.path, tc.host, tc.body, tc.header...)
		if code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
	}
	if _, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("victim")}); err != nil {
		t.Errorf("the queue was deleted: %v", err)
	}
	if _, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("from-img")}); err == nil {
		t.Errorf("an <img> created a queue")
	}

	// A program may address the server as localhost; the queue URL says so.
	local := strings.Replace(base, "127.0.0.1", "localhost", 1)
	out, err := newClient(local).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("victim")})
	if err != nil || !strings.HasPrefix(*out.QueueUrl, local+"/") {
		t.Errorf("GetQueueUrl through localhost: %v %v", out, err)
	}
}

// The host of --base-url is a name clients may use without keys, and the
// queue URLs name it whatever Host a client sent.
func TestBaseURLHostAllowedWithoutKeys(t *testing.T) {
	t.Parallel()
	s := testserver.StartConfig(t, server.Config{BaseURL: "http://sqs.box.lan:9324"})
	port := s.Addr()[strings.LastIndex(s.Addr(), ":"):]
	code, body := browserRequest(t, "POST", s.URL()+"/", "sqs.box.lan"+port, "Action=CreateQueue&QueueName=named")
	if code != 200 || !strings.Contains(body, "<QueueUrl>http://sqs.box.lan:9324/000000000000/named</QueueUrl>") {
		t.Fatalf("CreateQueue addressed to the base URL's host: %d %s", code, body)
	}
	if code, body := browserRequest(t, "POST", s.URL()+"/", "other.box.lan"+port, "Action=ListQueues"); code != http.StatusForbidden {
		t.Fatalf("another name: %d %s", code, body)
	}
}
