package config

import (
	"fmt"
	"strings"

	"github.com/qscale/qscale/autoscale/queueset"
)

// How the queues of a fleet with several (fleets[].queues) combine into
// the one observation its policies read, as KEDA's several triggers do.
const (
	// CombineSum adds the queues' backlogs and rates (and takes the worst
	// age): the fleet works through all of them. The default.
	CombineSum = "sum"
	// CombineWorst takes the queue in the worst state: the largest
	// backlog, the oldest message.
	CombineWorst = "worst"
)

// Source says how a fleet's queues are read beyond GetQueueAttributes
// (qscale autoscale only).
type Source struct {
	// CloudWatchAge reads the oldest message's age of each queue on Amazon
	// SQS from CloudWatch (AWS/SQS ApproximateAgeOfOldestMessage, 1-minute
	// period, the latest datapoint): what a policy on that metric needs,
	// since GetQueueAttributes has no such attribute. It needs
	// cloudwatch:GetMetricData (docs/aws.md).
	CloudWatchAge bool `yaml:"cloudWatchAge"`
	// CloudWatchEndpoint overrides CloudWatch's endpoint (a test server);
	// default the region's. CloudWatchProtocol is its wire protocol: cbor
	// (the SDK's, the default), json or query (moto's).
	CloudWatchEndpoint string `yaml:"cloudWatchEndpoint"`
	CloudWatchProtocol string `yaml:"cloudWatchProtocol"`
}

// QueueList is the fleet's queues: queues, else the one queue.
func (f *Fleet) QueueList() []QueueRef {
	if len(f.Queues) > 0 {
		return f.Queues
	}
	if f.Queue == (QueueRef{}) {
		return nil
	}
	return []QueueRef{f.Queue}
}

// QueueNames are the names of the fleet's queues.
func (f *Fleet) QueueNames() []string {
	qs := f.QueueList()
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.QueueName()
	}
	return out
}

// QueueLabel names the fleet's queues in one string: "jobs", or
// "jobs+reports" for a fleet with several.
func (f *Fleet) QueueLabel() string { return strings.Join(f.QueueNames(), "+") }

// queuePath is the path of the fleet's i-th queue in the file.
func (f *Fleet) queuePath(i int) string {
	if len(f.Queues) > 0 {
		return fmt.Sprintf("queues[%d]", i)
	}
	return "queue"
}

// Combine is how the fleet's queues combine (package queueset).
func (f *Fleet) Combine() queueset.Combine {
	if f.QueueCombine == CombineWorst {
		return queueset.Worst
	}
	return queueset.Sum
}

// CloudWatchAge reports whether the fleet reads the oldest message's age
// from CloudWatch.
func (f *Fleet) CloudWatchAge() bool { return f.Source != nil && f.Source.CloudWatchAge }
