package up

import "testing"

// FuzzParseConfig: any file is either a valid configuration or an error,
// never a panic, and a valid one has its defaults applied.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`queues: [{name: a}]
fleet: {queue: a, worker: {demo: 10ms}, maxCapacity: 3, policies: [{targetTracking: {TargetValue: 100}}]}`))
	f.Add([]byte(`{"queues":[{"name":"a","attributes":{"VisibilityTimeout":"5"}}],"fleet":{"queue":"a","worker":{"command":["true"]},"maxCapacity":1,"policies":[{"latency":{"acceptableWait":"10s"}}]}}`))
	f.Add([]byte(`console: {listen: "0.0.0.0:1", token: t}
queues: [{name: a}]
fleet: {queue: a, worker: {http: "http://127.0.0.1:1/", flags: ["--concurrency", "2"]}, maxCapacity: 1, policies: [{stepScaling: {}}]}`))
	f.Add([]byte("fleet: [1, 2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "")
		if err != nil {
			return
		}
		if c.Server.Listen == "" || c.Console.Listen == "" || c.Fleet.Interval <= 0 || c.Fleet.Queue == "" {
			t.Fatalf("a valid configuration without its defaults: %+v", c)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("valid once, invalid on a second look: %v", err)
		}
	})
}
