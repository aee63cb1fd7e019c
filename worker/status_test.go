package worker_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/worker"
)

// FetchStatus reads what a Reporter serves; Busy spares a worker that works
// or holds a message.
func TestFetchStatusAndBusy(t *testing.T) {
	t.Parallel()
	docs := map[string]string{
		"/idle":     `{"version":1,"state":"idle","in_flight":0}`,
		"/holding":  `{"version":1,"state":"idle","in_flight":2}`,
		"/busy":     `{"version":1,"state":"busy","in_flight":1}`,
		"/draining": `{"version":1,"state":"draining","in_flight":0}`,
		"/odd":      `{"version":1,"state":"sleeping"}`,
		"/garbage":  `not json`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(srv.Close)
	for path, want := range map[string]bool{"/idle": false, "/holding": true, "/busy": true, "/draining": true} {
		rep, err := worker.FetchStatus(t.Context(), nil, srv.URL+path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if busy, err := rep.Busy(); err != nil || busy != want {
			t.Errorf("%s: busy %v, %v; want %v", path, busy, err, want)
		}
	}
	rep, err := worker.FetchStatus(t.Context(), nil, srv.URL+"/odd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rep.Busy(); err == nil || !strings.Contains(err.Error(), `unknown worker state "sleeping"`) {
		t.Errorf("unknown state: %v", err)
	}
	for path, want := range map[string]string{"/garbage": "not a worker status document", "/missing": "404"} {
		if _, err := worker.FetchStatus(t.Context(), nil, srv.URL+path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error saying %q", path, err, want)
		}
	}
}
