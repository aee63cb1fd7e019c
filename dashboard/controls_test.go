package dashboard_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/qscale/qscale/dashboard"
)

// The engine backend has every action but no pause: the page is told so,
// and a pause request is answered 501, not 404 or 500.
func TestControlWithoutPauser(t *testing.T) {
	t.Parallel()
	s := setup(t, setupOptions{})
	resp := s.do(t, "GET", "/api/control", "")
	var c dashboard.Control
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if want := (dashboard.Features{Send: true, Purge: true, Counters: true}); c.Features != want || c.Paused {
		t.Fatalf("control %+v", c)
	}
	if resp := s.do(t, "POST", "/api/pause", "", dashboard.CSRFHeader, "1"); resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("pause: %s", resp.Status)
	}
	// A pause is a change: the cross-site check applies.
	if resp := s.do(t, "POST", "/api/pause", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("pause without the CSRF header: %s", resp.Status)
	}
}
