package queue

import "time"

// AWS's current SQS limits, which qscale enforces the same way.
const (
	MaxMessageSize          = 1 << 20 // bytes, body plus message attributes
	MinMessageSizeSetting   = 1024
	MaxBatchEntries         = 10
	MaxWaitTime             = 20 * time.Second
	MaxVisibilityTimeout    = 12 * time.Hour
	MinRetention            = 60 * time.Second
	MaxRetention            = 14 * 24 * time.Hour
	DefaultRetention        = 4 * 24 * time.Hour
	MaxDelay                = 15 * time.Minute
	MaxMessageAttributes    = 10
	MaxInflightStandard     = 120_000
	MaxInflightFIFO         = 120_000
	DefaultVisibility       = 30 * time.Second
	DedupWindow             = 5 * time.Minute
	PurgeInterval           = 60 * time.Second
	MaxQueueNameLen         = 80
	MaxReceiveCountLimit    = 1000
	MaxBatchEntryIDLen      = 80
	MaxTagsPerQueue         = 50
	MaxListQueuesResults    = 1000
	DefaultListQueuesResult = 1000
	DeletedQueueCooldown    = 60 * time.Second
)
