package ecsfleet_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/autoscale/ecsfleet"
)

// The status reader's verdict for each document a worker can serve.
func TestStatusReader(t *testing.T) {
	t.Parallel()
	docs := map[string]string{
		"10.0.0.1": `{"version":1,"state":"idle","in_flight":0}`,
		"10.0.0.2": `{"version":1,"state":"busy","in_flight":3}`,
		"10.0.0.3": `{"version":1,"state":"draining","in_flight":1}`,
		"10.0.0.4": `{"version":1,"state":"stopped","in_flight":0}`,
		"10.0.0.5": `{"version":1,"state":"idle","in_flight":1}`, // prefetched: holds a message
		"10.0.0.6": `{"version":1,"state":"sleeping"}`,
		"10.0.0.7": `<html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" || r.Method != http.MethodGet {
			http.Error(w, "no", 404)
			return
		}
		host := strings.Split(r.Host, ":")[0]
		doc, ok := docs[host]
		if !ok {
			http.Error(w, "no", 503)
			return
		}
		fmt.Fprint(w, doc)
	}))
	t.Cleanup(srv.Close)
	r := &ecsfleet.StatusReader{Port: 8081, Client: routedClient(srv.Listener.Addr().String())}
	for _, c := range []struct {
		ip      string
		busy    bool
		errText string
	}{
		{"10.0.0.1", false, ""},
		{"10.0.0.2", true, ""},
		{"10.0.0.3", true, ""},
		{"10.0.0.4", false, ""},
		{"10.0.0.5", true, ""},
		{"10.0.0.6", false, `unknown worker state "sleeping"`},
		{"10.0.0.7", false, "not a worker status document"},
		{"10.0.0.8", false, "503"},
		{"", false, "no private IP"},
	} {
		busy, err := r.Busy(t.Context(), ecsfleet.Task{ARN: "arn:t", PrivateIP: c.ip, LastStatus: "RUNNING"})
		if busy != c.busy || (err == nil) != (c.errText == "") || (err != nil && !strings.Contains(err.Error(), c.errText)) {
			t.Errorf("%s: busy %t, err %v; want %t, %q", c.ip, busy, err, c.busy, c.errText)
		}
	}
}
