package up

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// consoleGet sends GET path to the console with the given Host (when not
// empty) and headers (name, value pairs).
func consoleGet(t *testing.T, s *System, path, host string, header ...string) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.ConsoleURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// Without a token, the producer endpoint and the metrics answer neither a
// page of another site (an <img> that would send a message) nor a page
// that reached the console by pointing its own name at 127.0.0.1 (DNS
// rebinding); command-line clients keep working.
func TestConsoleRefusesBrowsersOfOtherSites(t *testing.T) {
	t.Parallel()
	s := startSystem(t, testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues: [{name: jobs}]
fleets: [{queue: jobs, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1000}}]}]
`), nil)
	for _, path := range []string{"/queue/jobs?message=x", "/metrics"} {
		for _, tc := range []struct {
			name   string
			host   string
			header []string
		}{
			{"img of another site", "", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Dest", "image"}},
			{"page on another port of localhost", "", []string{"Sec-Fetch-Site", "same-site"}},
			{"form of another origin", "", []string{"Origin", "http://evil.example"}},
			{"old browser with a referer", "", []string{"Referer", "http://evil.example/page.html"}},
			{"DNS rebinding", "rebind.evil.example:9325", nil},
		} {
			if code, body, _ := consoleGet(t, s, path, tc.host, tc.header...); code != http.StatusForbidden {
				t.Errorf("GET %s, %s: %d %s", path, tc.name, code, body)
			}
		}
		if code, body, _ := consoleGet(t, s, path, ""); code != http.StatusOK {
			t.Errorf("GET %s from a program: %d %s", path, code, body)
		}
	}
	q := jobsQueue(t, s)
	if n := q.Stats().Sent; n != 1 {
		t.Errorf("%d messages sent; only the program's request should have sent one", n)
	}
}

// One token check for the whole console: the bearer scheme in any case, and
// the session cookie the dashboard sets (which is not the token) works on
// the producer endpoint and the metrics too.
func TestConsoleTokenIsOneGuard(t *testing.T) {
	t.Parallel()
	s := startSystem(t, testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0", token: s3cret}
queues: [{name: jobs}]
fleets: [{queue: jobs, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1000}}]}]
`), nil)
	code, _, resp := consoleGet(t, s, "/?token=s3cret", "")
	if code != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("?token=: %d, cookies %v", code, resp.Cookies())
	}
	cookie := resp.Cookies()[0]
	if strings.Contains(cookie.Value, "s3cret") {
		t.Fatalf("the session cookie %q carries the token", cookie.Value)
	}
	for _, path := range []string{"/metrics", "/queue/jobs?message=x", "/api/queues"} {
		for _, auth := range [][]string{
			{"Authorization", "bearer s3cret"},
			{"Authorization", "BEARER s3cret"},
			{"Cookie", cookie.Name + "=" + cookie.Value},
		} {
			if code, body, _ := consoleGet(t, s, path, "", auth...); code != http.StatusOK {
				t.Errorf("GET %s with %s: %d %s", path, auth[0], code, body)
			}
		}
		if code, _, _ := consoleGet(t, s, path, "", "Cookie", cookie.Name+"=s3cret"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with the token itself as the cookie: %d, want 401", path, code)
		}
	}
}
