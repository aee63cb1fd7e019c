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
	MaxAttributeNameLen     = 256 // message attribute names, in characters
	MaxAttributeTypeLen     = 256 // message attribute data types, in characters
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

// Range is the range of an integer parameter and the reason AWS gives when
// a value falls outside it. The engine checks each such parameter against
// its Range; the wire layers turn a count of seconds a client sent into a
// time.Duration with Range.Duration, which refuses a value out of range
// with the same error before a multiplication could wrap it into range.
type Range struct {
	Param    string
	Min, Max int64
	Reason   string
}

// The integer parameters the engine accepts.
var (
	MaxNumberOfMessagesRange = Range{"MaxNumberOfMessages", 1, MaxBatchEntries, "Must be between 1 and 10, if provided"}
	DelaySecondsRange        = Range{"DelaySeconds", 0, int64(MaxDelay / time.Second), "DelaySeconds must be >= 0 and <= 900"}
	ReceiveVisibilityRange   = Range{"VisibilityTimeout", 0, int64(MaxVisibilityTimeout / time.Second), "Must be between 0 and 43200, if provided"}
	WaitTimeSecondsRange     = Range{"WaitTimeSeconds", 0, int64(MaxWaitTime / time.Second), "Must be >= 0 and <= 20, if provided"}
	ListQueuesResultsRange   = Range{"MaxResults", 1, MaxListQueuesResults, "MaxResults must be an integer between 1 and 1000"}
	MoveTasksResultsRange    = Range{"MaxResults", 1, 10, "Must be between 1 and 10"}
	MoveRateRange            = Range{"MaxNumberOfMessagesPerSecond", 1, 500, "Must be between 1 and 500"}
	ChangeVisibilityRange    = Range{"VisibilityTimeout", 0, int64(MaxVisibilityTimeout / time.Second), "VisibilityTimeout must be an integer between 0 and 43200"}
)

// Check refuses n when it is outside the range.
func (r Range) Check(n int64) *Error {
	if n < r.Min || n > r.Max {
		return r.refuse(n)
	}
	return nil
}

// Duration returns n seconds as a Duration, or the InvalidParameterValue
// error for a value outside the range.
func (r Range) Duration(n int64) (time.Duration, *Error) {
	if err := r.Check(n); err != nil {
		return 0, err
	}
	return time.Duration(n) * time.Second, nil
}

// check refuses a Duration outside the range.
func (r Range) checkDuration(d time.Duration) *Error {
	if d < time.Duration(r.Min)*time.Second || d > time.Duration(r.Max)*time.Second {
		return r.refuse(int64(d / time.Second))
	}
	return nil
}

func (r Range) refuse(n int64) *Error { return invalidParam(r.Param, n, r.Reason) }

// DefaultRegion is qscale's one default AWS region: in ARNs when the server
// names none, and for signing when neither the caller, a queue URL nor the
// AWS configuration chain names one (sqsconn, config).
const DefaultRegion = "us-east-1"
