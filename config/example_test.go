package config_test

import (
	"fmt"

	"github.com/qscale/qscale/config"
)

// A file is decoded, given its defaults and validated at once; every
// problem names its field.
func ExampleParse() {
	_, err := config.Parse([]byte(`
fleets:
  - queue: {url: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}
    maxCapacity: 10
    policies: [{targetTracking: {TargetValue: 100}}]
    ecs: {service: workers, statusPort: 70000}
`), ".", config.ForAutoscale)
	fmt.Println(err)

	c, err := config.Parse([]byte(`
fleets:
  - queue: {url: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}
    maxCapacity: 10
    policies: [{targetTracking: {TargetValue: 100}}]
    ecs: {cluster: jobs, service: workers}
`), ".", config.ForAutoscale)
	if err != nil {
		panic(err)
	}
	f := c.Fleets[0]
	fmt.Println(f.Name, f.Kind(), f.Interval, f.ECS.ProtectionExpiry)
	// Output:
	// fleets[0].ecs.cluster: is required (the cluster's name or ARN)
	// fleets[0].ecs.statusPort: want a port number 1-65535, got 70000
	// jobs ecs 1s 10m0s
}
