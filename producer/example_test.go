package producer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/server"
)

// Mount the endpoint over a server's engine, as `qscale up` does, and
// send the API Gateway-style request.
func ExampleNewHandler() {
	ctx := context.Background()
	s, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", InMemory: true})
	if err != nil {
		panic(err)
	}
	defer s.Stop(ctx)
	if _, err := s.Engine.CreateQueue(ctx, "demo", nil, nil); err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/queue/", producer.NewHandler(producer.NewEngineSender(s.Engine), producer.Options{}))
	console := httptest.NewServer(mux)
	defer console.Close()

	resp, err := http.Get(console.URL + "/queue/demo?message=test")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var r producer.Response
	json.NewDecoder(resp.Body).Decode(&r)
	q, _ := s.Engine.Queue("demo")
	fmt.Println(resp.StatusCode, r.Done, r.MessageID != "", q.Counts().Visible)
	// Output: 200 true true 1
}
