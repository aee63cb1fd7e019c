package queue

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is a queue's settable attributes, typed. Its zero value is not
// valid; start from DefaultConfig.
type Config struct {
	Fifo                      bool
	Delay                     time.Duration
	MaximumMessageSize        int
	Retention                 time.Duration
	ReceiveWait               time.Duration
	Visibility                time.Duration
	Redrive                   *RedrivePolicy
	RedriveAllowPolicy        string // JSON, kept as given after validation
	Policy                    string
	KmsMasterKeyID            string
	KmsDataKeyReusePeriod     int
	SqsManagedSseEnabled      bool
	ContentBasedDeduplication bool
	DeduplicationScope        string // "queue" or "messageGroup" (FIFO)
	FifoThroughputLimit       string // "perQueue" or "perMessageGroupId" (FIFO)
}

// RedrivePolicy sends messages received more than MaxReceiveCount times to
// the dead-letter queue DeadLetterTargetArn.
type RedrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// DefaultConfig returns the attributes a new queue gets from AWS.
func DefaultConfig(fifo bool) Config {
	c := Config{
		Fifo:                  fifo,
		MaximumMessageSize:    MaxMessageSize,
		Retention:             DefaultRetention,
		Visibility:            DefaultVisibility,
		KmsDataKeyReusePeriod: 300,
		SqsManagedSseEnabled:  true,
	}
	if fifo {
		c.DeduplicationScope = "queue"
		c.FifoThroughputLimit = "perQueue"
	}
	return c
}

// Settable queue attribute names.
const (
	AttrDelaySeconds                  = "DelaySeconds"
	AttrMaximumMessageSize            = "MaximumMessageSize"
	AttrMessageRetentionPeriod        = "MessageRetentionPeriod"
	AttrReceiveMessageWaitTimeSeconds = "ReceiveMessageWaitTimeSeconds"
	AttrVisibilityTimeout             = "VisibilityTimeout"
	AttrRedrivePolicy                 = "RedrivePolicy"
	AttrRedriveAllowPolicy            = "RedriveAllowPolicy"
	AttrPolicy                        = "Policy"
	AttrKmsMasterKeyID                = "KmsMasterKeyId"
	AttrKmsDataKeyReusePeriodSeconds  = "KmsDataKeyReusePeriodSeconds"
	AttrSqsManagedSseEnabled          = "SqsManagedSseEnabled"
	AttrFifoQueue                     = "FifoQueue"
	AttrContentBasedDeduplication     = "ContentBasedDeduplication"
	AttrDeduplicationScope            = "DeduplicationScope"
	AttrFifoThroughputLimit           = "FifoThroughputLimit"
)

// Read-only queue attribute names.
const (
	AttrApproximateNumberOfMessages           = "ApproximateNumberOfMessages"
	AttrApproximateNumberOfMessagesNotVisible = "ApproximateNumberOfMessagesNotVisible"
	AttrApproximateNumberOfMessagesDelayed    = "ApproximateNumberOfMessagesDelayed"
	AttrCreatedTimestamp                      = "CreatedTimestamp"
	AttrLastModifiedTimestamp                 = "LastModifiedTimestamp"
	AttrQueueArn                              = "QueueArn"
)

// AttrAgeOfOldestMessage is qscale's extension attribute: the age of the
// oldest message not in flight, in seconds with milliseconds ("12.345"),
// "0" for an empty queue, the value CloudWatch's
// ApproximateAgeOfOldestMessage reports for Amazon SQS. Amazon SQS refuses
// the name (InvalidAttributeName), so a client asks for it only from a
// qscale server. It is not part of "All", which stays AWS's list.
const AttrAgeOfOldestMessage = "QscaleApproximateAgeOfOldestMessage"

// AllAttributeNames lists what GetQueueAttributes with "All" returns, in
// AWS's order.
var AllAttributeNames = []string{
	AttrQueueArn, AttrApproximateNumberOfMessages, AttrApproximateNumberOfMessagesNotVisible,
	AttrApproximateNumberOfMessagesDelayed, AttrCreatedTimestamp, AttrLastModifiedTimestamp,
	AttrVisibilityTimeout, AttrMaximumMessageSize, AttrMessageRetentionPeriod, AttrDelaySeconds,
	AttrReceiveMessageWaitTimeSeconds, AttrRedrivePolicy, AttrRedriveAllowPolicy, AttrPolicy,
	AttrKmsMasterKeyID, AttrKmsDataKeyReusePeriodSeconds, AttrSqsManagedSseEnabled, AttrFifoQueue,
	AttrContentBasedDeduplication, AttrDeduplicationScope, AttrFifoThroughputLimit,
}

func isKnownAttribute(name string) bool {
	for _, n := range AllAttributeNames {
		if n == name {
			return true
		}
	}
	return false
}

// deadLetterTarget is what a RedrivePolicy needs to know of the queue it
// names as dead-letter target.
type deadLetterTarget struct {
	fifo  bool
	allow string // its RedriveAllowPolicy attribute
}

// apply sets the attributes in attrs on c, validating each. creating allows
// FifoQueue. source is the ARN of the queue c configures; lookupArn
// resolves a dead-letter target ARN.
func (c *Config) apply(attrs map[string]string, creating bool, source string, lookupArn func(arn string) (deadLetterTarget, bool)) *Error {
	// Apply in a fixed order so error messages do not depend on map order.
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := attrs[name]
		invalid := func() *Error {
			return errorf(ErrInvalidAttributeValue, "Invalid value for the parameter %s.", name)
		}
		switch name {
		case AttrDelaySeconds:
			n, ok := intIn(v, 0, int(MaxDelay/time.Second))
			if !ok {
				return invalid()
			}
			c.Delay = time.Duration(n) * time.Second
		case AttrMaximumMessageSize:
			n, ok := intIn(v, MinMessageSizeSetting, MaxMessageSize)
			if !ok {
				return invalid()
			}
			c.MaximumMessageSize = n
		case AttrMessageRetentionPeriod:
			n, ok := intIn(v, int(MinRetention/time.Second), int(MaxRetention/time.Second))
			if !ok {
				return invalid()
			}
			c.Retention = time.Duration(n) * time.Second
		case AttrReceiveMessageWaitTimeSeconds:
			n, ok := intIn(v, 0, int(MaxWaitTime/time.Second))
			if !ok {
				return invalid()
			}
			c.ReceiveWait = time.Duration(n) * time.Second
		case AttrVisibilityTimeout:
			n, ok := intIn(v, 0, int(MaxVisibilityTimeout/time.Second))
			if !ok {
				return invalid()
			}
			c.Visibility = time.Duration(n) * time.Second
		case AttrRedrivePolicy:
			if v == "" {
				c.Redrive = nil
				continue
			}
			rp, err := parseRedrivePolicy(v)
			if err != nil {
				return err
			}
			dlq, ok := lookupArn(rp.DeadLetterTargetArn)
			if !ok {
				return invalidParam(AttrRedrivePolicy, v, "Dead letter target does not exist")
			}
			if dlq.fifo != c.Fifo {
				return invalidParam(AttrRedrivePolicy, v, "Dead-letter target owner should be same as the source")
			}
			if err := checkRedriveAllowed(source, v, dlq.allow); err != nil {
				return err
			}
			c.Redrive = rp
		case AttrRedriveAllowPolicy:
			if _, err := ParseRedriveAllowPolicy(v); err != nil {
				return err
			}
			c.RedriveAllowPolicy = v
		case AttrPolicy:
			if v != "" && !json.Valid([]byte(v)) {
				return errorf(ErrInvalidAttributeValue, "Invalid value for the parameter Policy.")
			}
			c.Policy = v
		case AttrKmsMasterKeyID:
			c.KmsMasterKeyID = v
		case AttrKmsDataKeyReusePeriodSeconds:
			n, ok := intIn(v, 60, 86400)
			if !ok {
				return invalid()
			}
			c.KmsDataKeyReusePeriod = n
		case AttrSqsManagedSseEnabled:
			b, ok := parseBool(v)
			if !ok {
				return invalid()
			}
			c.SqsManagedSseEnabled = b
		case AttrFifoQueue:
			b, ok := parseBool(v)
			if !ok {
				return invalid()
			}
			// FifoQueue is an attribute of FIFO queues only: on a standard
			// queue, even "false", it is unknown, as in SQS.
			switch {
			case !b && (creating || !c.Fifo), b && !creating && !c.Fifo:
				return errorf(ErrInvalidAttributeName, "Unknown Attribute FifoQueue.")
			case !b:
				return errorf(ErrInvalidAttributeValue, "Modifying queue type is not supported.")
			}
			c.Fifo = true
		case AttrContentBasedDeduplication, AttrDeduplicationScope, AttrFifoThroughputLimit:
			if !c.Fifo && !(creating && strings.EqualFold(attrs[AttrFifoQueue], "true")) {
				return errorf(ErrInvalidAttributeName, "Unknown Attribute %s.", name)
			}
			switch name {
			case AttrContentBasedDeduplication:
				b, ok := parseBool(v)
				if !ok {
					return invalid()
				}
				c.ContentBasedDeduplication = b
			case AttrDeduplicationScope:
				if v != "queue" && v != "messageGroup" {
					return invalid()
				}
				c.DeduplicationScope = v
			case AttrFifoThroughputLimit:
				if v != "perQueue" && v != "perMessageGroupId" {
					return invalid()
				}
				c.FifoThroughputLimit = v
			}
		default:
			return errorf(ErrInvalidAttributeName, "Unknown Attribute %s.", name)
		}
	}
	if c.Fifo && c.FifoThroughputLimit == "perMessageGroupId" && c.DeduplicationScope == "queue" && attrs[AttrFifoThroughputLimit] != "" {
		return invalidParam(AttrFifoThroughputLimit, c.FifoThroughputLimit, "The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup")
	}
	return nil
}

func parseRedrivePolicy(v string) (*RedrivePolicy, *Error) {
	// maxReceiveCount arrives as a number or a string; accept both as AWS does.
	var raw map[string]any
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return nil, invalidParam(AttrRedrivePolicy, v, "Redrive policy is not a valid JSON map")
	}
	rp := &RedrivePolicy{}
	arn, _ := raw["deadLetterTargetArn"].(string)
	if arn == "" {
		return nil, invalidParam(AttrRedrivePolicy, v, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn")
	}
	rp.DeadLetterTargetArn = arn
	switch m := raw["maxReceiveCount"].(type) {
	case float64:
		rp.MaxReceiveCount = int(m)
		if float64(rp.MaxReceiveCount) != m {
			rp.MaxReceiveCount = -1
		}
	case string:
		n, err := strconv.Atoi(m)
		if err != nil {
			n = -1
		}
		rp.MaxReceiveCount = n
	case nil:
		return nil, invalidParam(AttrRedrivePolicy, v, "Redrive policy does not contain mandatory attribute: maxReceiveCount")
	default:
		rp.MaxReceiveCount = -1
	}
	if rp.MaxReceiveCount < 1 || rp.MaxReceiveCount > MaxReceiveCountLimit {
		return nil, invalidParam(AttrRedrivePolicy, v, "Invalid value for maxReceiveCount: "+strings.TrimSpace(string(mustJSON(raw["maxReceiveCount"])))+", valid values are from 1 to 1000 both inclusive")
	}
	for k := range raw {
		if k != "deadLetterTargetArn" && k != "maxReceiveCount" {
			return nil, invalidParam(AttrRedrivePolicy, v, "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount]")
		}
	}
	return rp, nil
}

// RedriveAllowPolicy is a dead-letter queue's RedriveAllowPolicy: which
// source queues may name it as their deadLetterTargetArn.
type RedriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

// The values of redrivePermission.
const (
	RedriveAllowAll = "allowAll"
	RedriveDenyAll  = "denyAll"
	RedriveByQueue  = "byQueue"
)

// MaxRedriveSourceQueues is how many sourceQueueArns a byQueue
// RedriveAllowPolicy may name.
const MaxRedriveSourceQueues = 10

// Allows reports whether a queue with ARN source may name the queue with
// this policy as its dead-letter queue. A nil policy (none set) allows
// every queue, as allowAll does.
func (p *RedriveAllowPolicy) Allows(source string) bool {
	if p == nil {
		return true
	}
	switch p.RedrivePermission {
	case RedriveDenyAll:
		return false
	case RedriveByQueue:
		for _, a := range p.SourceQueueArns {
			if a == source {
				return true
			}
		}
		return false
	}
	return true
}

// ParseRedriveAllowPolicy validates a RedriveAllowPolicy attribute value the
// way SQS does and returns it typed; "" is no policy (nil).
func ParseRedriveAllowPolicy(v string) (*RedriveAllowPolicy, *Error) {
	if v == "" {
		return nil, nil
	}
	invalid := func(reason string) *Error {
		return errorf(ErrInvalidParameterValue, "Invalid value for the parameter %s. Reason: %s.", AttrRedriveAllowPolicy, reason)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil || raw == nil {
		return nil, invalid("Amazon SQS can't create the redrive allow policy, as it’s in an unsupported format")
	}
	for k := range raw {
		if k != "redrivePermission" && k != "sourceQueueArns" {
			return nil, invalid("Amazon SQS can't create the redrive allow policy, as it’s in an unsupported format")
		}
	}
	var p RedriveAllowPolicy
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return nil, invalid("Amazon SQS can't create the redrive allow policy, as it’s in an unsupported format")
	}
	_, listed := raw["sourceQueueArns"]
	switch p.RedrivePermission {
	case RedriveAllowAll, RedriveDenyAll:
		if listed {
			return nil, invalid("You can specify sourceQueueArns only when redrivePermission is set to byQueue")
		}
	case RedriveByQueue:
		if len(p.SourceQueueArns) == 0 {
			return nil, invalid("You must specify sourceQueueArns when redrivePermission is set to byQueue")
		}
		if len(p.SourceQueueArns) > MaxRedriveSourceQueues {
			return nil, invalid(fmt.Sprintf("You can specify up to %d source queue ARNs in sourceQueueArns", MaxRedriveSourceQueues))
		}
		for _, a := range p.SourceQueueArns {
			if !strings.HasPrefix(a, "arn:") || strings.Count(a, ":") != 5 {
				return nil, invalid(fmt.Sprintf("%q is not a valid queue ARN", a))
			}
		}
	case "":
		return nil, invalid("Redrive allow policy does not contain mandatory attribute: redrivePermission")
	default:
		return nil, invalid("redrivePermission must be one of allowAll, denyAll or byQueue")
	}
	return &p, nil
}

// checkRedriveAllowed refuses a RedrivePolicy, set on the queue with ARN
// source, whose dead-letter queue's RedriveAllowPolicy does not let source
// name it. dlqPolicy is that queue's RedriveAllowPolicy attribute.
func checkRedriveAllowed(source, raw, dlqPolicy string) *Error {
	p, err := ParseRedriveAllowPolicy(dlqPolicy)
	if err != nil || p.Allows(source) {
		return nil // a policy stored before validation was this strict allows
	}
	return invalidParam(AttrRedrivePolicy, raw, "Dead-letter target queue's RedriveAllowPolicy does not allow this queue to use it as a dead-letter queue")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func intIn(s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// render returns c as SQS attribute strings (the settable ones that are set).
func (c *Config) render() map[string]string {
	m := map[string]string{
		AttrVisibilityTimeout:             secs(c.Visibility),
		AttrMaximumMessageSize:            strconv.Itoa(c.MaximumMessageSize),
		AttrMessageRetentionPeriod:        secs(c.Retention),
		AttrDelaySeconds:                  secs(c.Delay),
		AttrReceiveMessageWaitTimeSeconds: secs(c.ReceiveWait),
		AttrSqsManagedSseEnabled:          strconv.FormatBool(c.SqsManagedSseEnabled),
	}
	if c.Redrive != nil {
		m[AttrRedrivePolicy] = string(mustJSON(c.Redrive))
	}
	if c.RedriveAllowPolicy != "" {
		m[AttrRedriveAllowPolicy] = c.RedriveAllowPolicy
	}
	if c.Policy != "" {
		m[AttrPolicy] = c.Policy
	}
	if c.KmsMasterKeyID != "" {
		m[AttrKmsMasterKeyID] = c.KmsMasterKeyID
		m[AttrKmsDataKeyReusePeriodSeconds] = strconv.Itoa(c.KmsDataKeyReusePeriod)
	}
	if c.Fifo {
		m[AttrFifoQueue] = "true"
		m[AttrContentBasedDeduplication] = strconv.FormatBool(c.ContentBasedDeduplication)
		m[AttrDeduplicationScope] = c.DeduplicationScope
		m[AttrFifoThroughputLimit] = c.FifoThroughputLimit
	}
	return m
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
