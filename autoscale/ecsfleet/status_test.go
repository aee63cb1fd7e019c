package ecsfleet_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/autoscale/ecsfleet"
	"github.com/qscale/qscale/worker/workerstatus"
)

// The status reader reaches each task at its private IP and the status
// port; the document ranks it as workerstatus.Order does.
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
		"10.0.0.9": `{"version":2,"state":"idle"}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" || r.Method != http.MethodGet || !strings.HasSuffix(r.Host, ":8081") {
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
		class   workerstatus.Class
		errText string
	}{
		{"10.0.0.1", workerstatus.ClassIdle, ""},
		{"10.0.0.2", workerstatus.ClassBusy, ""},
		{"10.0.0.3", workerstatus.ClassBusy, ""},
		{"10.0.0.4", workerstatus.ClassLeaving, ""},
		{"10.0.0.5", workerstatus.ClassBusy, ""},
		{"10.0.0.6", workerstatus.ClassUnknown, `unknown worker state "sleeping"`},
		{"10.0.0.7", workerstatus.ClassUnknown, "not a worker status document"},
		{"10.0.0.8", workerstatus.ClassUnknown, "503"},
		{"10.0.0.9", workerstatus.ClassUnknown, "version 2"},
		{"", workerstatus.ClassUnknown, "no private IP"},
	} {
		rep, err := r.ReadStatus(t.Context(), ecsfleet.Task{ARN: "arn:t", PrivateIP: c.ip, LastStatus: "RUNNING"})
		class := workerstatus.Candidate{Report: rep, Err: err}.Class()
		if class != c.class || (err == nil) != (c.errText == "") || (err != nil && !strings.Contains(err.Error(), c.errText)) {
			t.Errorf("%s: %v, err %v; want %v, %q", c.ip, class, err, c.class, c.errText)
		}
	}
}
