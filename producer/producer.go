// Package producer feeds queues over plain HTTP: the endpoint that replaces
// an API Gateway in front of SQS, as hand-built AWS setups use. GET /queue/NAME?message=TEXT
// sends TEXT; POST /queue/NAME sends one JSON message, a JSON array of up to
// ten, or a text/plain body. The handler sends through a Sender: the
// embedded queue engine (EngineSender) or any SQS endpoint (package
// producer/sqssender).
package producer

import (
	"context"
	"errors"

	"github.com/qscale/qscale/queue"
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

// The codes the endpoint answers most, as SQS spells them (the query
// protocol's codes, which the SDKs report). Every code, its spelling and its
// status come from the queue engine's one error table (queue.Code.Info).
var (
	CodeNonExistentQueue      = queue.ErrQueueDoesNotExist.Info().QueryCode
	CodeInvalidParameterValue = queue.ErrInvalidParameterValue.Info().QueryCode
	CodeMissingParameter      = queue.ErrMissingParameter.Info().QueryCode
	CodeTooManyEntries        = queue.ErrTooManyEntriesInBatchRequest.Info().QueryCode
	CodeEmptyBatch            = queue.ErrEmptyBatchRequest.Info().QueryCode
	CodeBatchTooLong          = queue.ErrBatchRequestTooLong.Info().QueryCode
	CodeRequestTooLarge       = queue.ErrRequestEntityTooLarge.Info().QueryCode
	CodeUnsupportedMediaType  = queue.ErrUnsupportedMediaType.Info().QueryCode
	CodeMethodNotAllowed      = queue.ErrMethodNotAllowed.Info().QueryCode
	CodeInternal              = queue.ErrInternal.Info().QueryCode
	CodeServiceUnavailable    = queue.ErrServiceUnavailable.Info().QueryCode
)

// NewError returns the Error for an SQS error code (either spelling) and
// message, with the status of the engine's error table. serverFault marks
// a code not in the table as the SQS endpoint's own failure (502) rather
// than the caller's (400).
func NewError(code, message string, serverFault bool) *Error {
	if c, ok := queue.ParseCode(code); ok {
		return newError(c, message)
	}
	e := &Error{Code: code, Message: message, Status: 400}
	if serverFault {
		e.Status = 502
	}
	return e
}

// newError returns the Error for an engine code.
func newError(c queue.Code, message string) *Error {
	return &Error{Status: queue.HTTPStatus(c, message), Code: c.Info().QueryCode, Message: message}
}

// engineError maps an error of the queue engine to the endpoint's answer.
func engineError(err error) *Error {
	var qe *queue.Error
	if errors.As(err, &qe) {
		return newError(qe.Code, qe.Message)
	}
	return newError(queue.ErrInternal, "The queue failed to store the message.")
}
