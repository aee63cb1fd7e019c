package testserver

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

// Call sends one SQS query-protocol request (form names the Action and its
// parameters) to endpoint and returns the response body; any status but
// 200 fails the test.
func Call(t testing.TB, endpoint string, form url.Values) string {
	t.Helper()
	form.Set("Version", "2012-11-05")
	resp, err := http.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read the response: %v", form.Get("Action"), err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s: %s", form.Get("Action"), resp.Status, body)
	}
	return string(body)
}

var queueURLElem = regexp.MustCompile(`<QueueUrl>([^<]+)</QueueUrl>`)

// CreateQueue creates the standard queue name at endpoint and returns its URL.
func CreateQueue(t testing.TB, endpoint, name string) string {
	t.Helper()
	m := queueURLElem.FindStringSubmatch(Call(t, endpoint, url.Values{"Action": {"CreateQueue"}, "QueueName": {name}}))
	if m == nil {
		t.Fatalf("CreateQueue %s returned no QueueUrl", name)
	}
	return m[1]
}
