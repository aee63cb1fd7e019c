package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/console"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testserver"
)

// A console of two fleets lists them, serves each one's decisions under
// its path, and is ready only when both were read recently, naming the one
// that is behind.
func TestConsoleOfTwoFleets(t *testing.T) {
	t.Parallel()
	endpoint := testserver.Start(t)
	api := testserver.Client(endpoint)
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	var fleets []console.Fleet
	ctrls := map[string]*autoscale.Controller{}
	for _, name := range []string{"fast", "slow"} {
		q, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		ctrl, be := controlled(t, api, clk, *q.QueueUrl, sqssource.New(api, *q.QueueUrl), 10)
		ctrls[name] = ctrl
		fleets = append(fleets, console.Fleet{Name: name, Kind: "memory", Queue: name, Queues: []string{name}, Controller: ctrl, Backend: be})
	}
	c, err := console.New(console.Options{Listen: "127.0.0.1:0", Fleets: fleets, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)

	code, body := get(t, srv.URL+"/api/fleets")
	var index struct{ Fleets []console.FleetLink }
	if err := json.Unmarshal([]byte(body), &index); code != http.StatusOK || err != nil || len(index.Fleets) != 2 || index.Fleets[1].Dashboard != "/fleets/slow/" {
		t.Fatalf("/api/fleets: %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/fleets/"); code != http.StatusOK || !strings.Contains(body, `<a href="/fleets/slow/">slow</a>`) {
		t.Fatalf("/fleets/: %d %s", code, body)
	}
	ctrls["fast"].Tick(t.Context())
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "of fleet slow were not read yet") {
		t.Fatalf("/readyz with fleet slow unread: %d %s", code, body)
	}
	ctrls["slow"].Tick(t.Context())
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with both read: %d %s", code, body)
	}
	for name, want := range map[string]int{"fast": 1, "slow": 1} {
		code, body := get(t, srv.URL+"/fleets/"+name+"/api/decisions")
		var ds []autoscale.Decision
		if err := json.Unmarshal([]byte(body), &ds); code != http.StatusOK || err != nil || len(ds) != want {
			t.Fatalf("decisions of %s: %d %s", name, code, body)
		}
	}
	if code, _ := get(t, srv.URL+"/fleets/none/api/decisions"); code != http.StatusNotFound {
		t.Fatalf("decisions of a fleet that is not: %d", code)
	}
	if _, err := console.New(console.Options{Listen: "127.0.0.1:0", Fleets: []console.Fleet{fleets[0], fleets[0]}}); err == nil {
		t.Fatal("a fleet listed twice was accepted")
	}
}
