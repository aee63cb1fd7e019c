package up

import (
	"testing"

	"github.com/qscale/qscale/config"
)

// FuzzParseConfig: any file is either a valid configuration or an error,
// never a panic, and a valid one has its defaults applied.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`queues: [{name: a}]
fleets: [{queue: a, worker: {demo: 10ms}, maxCapacity: 3, policies: [{targetTracking: {TargetValue: 100}}]}]`))
	f.Add([]byte(`{"queues":[{"name":"a","attributes":{"VisibilityTimeout":"5"}}],"fleets":[{"queue":"a","worker":{"command":["true"]},"maxCapacity":1,"policies":[{"latency":{"acceptableWait":"10s"}}]}]}`))
	f.Add([]byte(`console: {listen: "0.0.0.0:1", token: t}
queues: [{name: a}]
fleets: [{queue: a, worker: {http: "http://127.0.0.1:1/", flags: ["--concurrency", "2"]}, maxCapacity: 1, policies: [{stepScaling: {}}]}]`))
	f.Add([]byte(`queues: [{name: a}, {name: b}, {name: c}]
fleets: [{queue: a, memory: {}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 1}}]}, {queues: [b, c], queueCombine: worst, worker: {demo: 1ms}, maxCapacity: 2, policies: [{targetTracking: {TargetValue: 1}}]}]`))
	f.Add([]byte("fleets: [1, 2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "")
		if err != nil {
			return
		}
		for _, f := range c.Fleets {
			if c.Server.Listen == "" || c.Console.Listen == "" || f.Interval <= 0 || len(f.QueueNames()) == 0 || f.Name == "" || f.QueueCombine == "" || f.History <= 0 {
				t.Fatalf("a valid configuration without its defaults: %+v", c)
			}
		}
		if err := c.Validate(config.ForUp); err != nil {
			t.Fatalf("valid once, invalid on a second look: %v", err)
		}
	})
}
