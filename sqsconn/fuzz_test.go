package sqsconn

import (
	"net/url"
	"testing"
)

// FuzzResolve feeds queue URLs, endpoints and environment values from the
// outside (flags, configuration files, the environment) to the rules: an
// error or an http(s) endpoint with a host, never a panic.
func FuzzResolve(f *testing.F) {
	f.Add("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", "", "", "")
	f.Add("http://127.0.0.1:9324/000000000000/jobs", "http://localhost:4566", "", "eu-west-1")
	f.Add("", "", "https://sqs-fips.us-gov-west-1.amazonaws.com", "")
	f.Add("https://queue.amazonaws.com/1/q", "", "", "")
	f.Add("http://[::1]:9324/0/q", "", "http://%zz", "")
	f.Fuzz(func(t *testing.T, queueURL, endpoint, envSQS, region string) {
		env := func(k string) string {
			if k == "AWS_ENDPOINT_URL_SQS" {
				return envSQS
			}
			return ""
		}
		e, err := resolve(t.Context(), Options{QueueURL: queueURL, Endpoint: endpoint, Region: region}, env)
		if err != nil {
			return
		}
		u, perr := url.Parse(e.URL)
		if perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("resolved to %q, not an http(s) endpoint", e.URL)
		}
		if e.Source == "" {
			t.Fatalf("resolved to %s with no rule", e.URL)
		}
	})
}
