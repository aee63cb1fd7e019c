package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/dashboard/enginebackend"
	"github.com/qscale/qscale/queue"
)

// The dashboard over an embedded queue engine, mounted under /dashboard/ of
// a server; scripts use the token as a bearer token.
func Example() {
	ctx := context.Background()
	engine, _ := queue.Open(ctx, queue.Options{})
	engine.CreateQueue(ctx, "jobs", nil, nil)
	backend, _ := enginebackend.New(enginebackend.Config{Engine: engine, Queue: "jobs"})
	d, _ := dashboard.New(dashboard.Options{Backend: backend, Token: "s3cret"})
	d.Start(ctx) // samples once a second
	defer d.Stop(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/dashboard/", http.StripPrefix("/dashboard", d))
	srv := httptest.NewServer(mux) // qscale up listens on 127.0.0.1
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/dashboard/api/queues", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var queues []dashboard.QueueInfo
	json.NewDecoder(resp.Body).Decode(&queues)
	fmt.Println(resp.Status, queues[0].Name, queues[0].Attributes["VisibilityTimeout"])
	// Output: 200 OK jobs 30
}
