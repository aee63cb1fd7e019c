// Package producer feeds queues over plain HTTP: the endpoint that replaces
// the seeds' API Gateway in front of SQS. GET /queue/NAME?message=TEXT
// sends TEXT; POST /queue/NAME sends one JSON message, a JSON array of up to
// ten, or a text/plain body. The handler sends through a Sender: the
// embedded queue engine (EngineSender) or any SQS endpoint (package
// producer/sqssender).
package producer

import (
	"context"
	"strings"
)

// Message is one message to send.
type Message struct {
	Body       string
	Attributes map[string]Attribute
	// DelaySeconds is the message's delay, 0..900; nil: the queue's.
	DelaySeconds *int
	GroupID      string // MessageGroupId (FIFO queues)
	DedupID      string // MessageDeduplicationId (FIFO queues)
}

// Attribute is one message attribute, spelled as in the SQS API.
type Attribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"` // base64 in JSON
}

// Result is what became of one message: an id, or Err.
type Result struct {
	MessageID      string
	SequenceNumber string // FIFO queues only
	Err            *Error
}

// Sender sends messages to a named queue. Send sends msgs (1..10) as one
// batch and returns one Result per message, in order. A non-nil error fails
// the whole call (unknown queue, unreachable endpoint); it is an *Error when
// its code is known.
type Sender interface {
	Send(ctx context.Context, queue string, msgs []Message) ([]Result, error)
}

// Error is an SQS error with the HTTP status the endpoint answers it with.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"` // the SQS error code, as the query protocol spells it
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Retryable reports whether sending again may succeed: throttling and
// server-side failures.
func (e *Error) Retryable() bool { return e.Status == 429 || e.Status >= 500 }

// The codes the endpoint itself produces, as SQS spells them.
const (
	CodeNonExistentQueue      = "AWS.SimpleQueueService.NonExistentQueue"
	CodeInvalidParameterValue = "InvalidParameterValue"
	CodeMissingParameter      = "MissingParameter"
	CodeTooManyEntries        = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
	CodeEmptyBatch            = "AWS.SimpleQueueService.EmptyBatchRequest"
	CodeBatchTooLong          = "AWS.SimpleQueueService.BatchRequestTooLong"
	CodeRequestTooLarge       = "RequestEntityTooLarge"
	CodeUnsupportedMediaType  = "UnsupportedMediaType"
	CodeMethodNotAllowed      = "MethodNotAllowed"
	CodeInternal              = "InternalError"
	CodeServiceUnavailable    = "ServiceUnavailable"
)

// errorCode is one row of the error table.
type errorCode struct {
	engine string // the engine's (and the JSON protocol's) name
	wire   string // the query protocol's code, which the SDKs report
	status int    // what this endpoint answers
}

// errorTable is the one place that maps SQS error codes to this endpoint's
// HTTP statuses. Codes not listed are client errors (400) unless the SQS
// endpoint called them its own fault.
var errorTable = []errorCode{
	{"QueueDoesNotExist", CodeNonExistentQueue, 404},
	{"QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", 404},
	{"InvalidParameterValue", CodeInvalidParameterValue, 400},
	{"MissingParameter", CodeMissingParameter, 400},
	{"InvalidMessageContents", "InvalidMessageContents", 400},
	{"InvalidAttributeName", "InvalidAttributeName", 400},
	{"InvalidAttributeValue", "InvalidAttributeValue", 400},
	{"TooManyEntriesInBatchRequest", CodeTooManyEntries, 400},
	{"EmptyBatchRequest", CodeEmptyBatch, 400},
	{"BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400},
	{"InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400},
	{"BatchRequestTooLong", CodeBatchTooLong, 413},
	{"RequestEntityTooLarge", CodeRequestTooLarge, 413},
	{"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400},
	{"RequestThrottled", "RequestThrottled", 429},
	{"ThrottlingException", "ThrottlingException", 429},
	{"OverLimit", "OverLimit", 429},
	{"KmsAccessDenied", "KMS.AccessDeniedException", 403},
	{"AccessDenied", "AccessDenied", 403},
	{"InvalidClientTokenId", "InvalidClientTokenId", 403},
	{"SignatureDoesNotMatch", "SignatureDoesNotMatch", 403},
	{"InternalError", CodeInternal, 500},
	{"ServiceUnavailable", CodeServiceUnavailable, 503},
}

// lookupCode finds code, spelled either way, in the table.
func lookupCode(code string) (errorCode, bool) {
	for _, c := range errorTable {
		if c.engine == code || c.wire == code {
			return c, true
		}
	}
	return errorCode{}, false
}

// NewError returns the Error for an SQS error code (either spelling) and
// message. serverFault marks a code not in the table as the endpoint's own
// failure (502) rather than the caller's (400).
func NewError(code, message string, serverFault bool) *Error {
	e := &Error{Code: code, Message: message, Status: 400}
	if c, ok := lookupCode(code); ok {
		e.Code, e.Status = c.wire, c.status
	} else if serverFault {
		e.Status = 502
	}
	// SQS refuses an oversize message as InvalidParameterValue.
	if e.Code == CodeInvalidParameterValue && strings.Contains(message, "must be shorter than") {
		e.Status = 413
	}
	return e
}

func errorf(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}
