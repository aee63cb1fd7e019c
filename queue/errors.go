package queue

import (
	"errors"
	"fmt"
	"strings"
)

// Code names an SQS error. The values are the codes AWS sends in the JSON
// protocol; Info says how each goes on the wire.
type Code string

// The error codes the engine produces.
const (
	ErrQueueDoesNotExist             Code = "QueueDoesNotExist"
	ErrQueueNameExists               Code = "QueueNameExists"
	ErrQueueDeletedRecently          Code = "QueueDeletedRecently"
	ErrInvalidParameterValue         Code = "InvalidParameterValue"
	ErrInvalidAttributeName          Code = "InvalidAttributeName"
	ErrInvalidAttributeValue         Code = "InvalidAttributeValue"
	ErrMissingParameter              Code = "MissingParameter"
	ErrInvalidMessageContents        Code = "InvalidMessageContents"
	ErrReceiptHandleIsInvalid        Code = "ReceiptHandleIsInvalid"
	ErrMessageNotInflight            Code = "MessageNotInflight"
	ErrPurgeQueueInProgress          Code = "PurgeQueueInProgress"
	ErrOverLimit                     Code = "OverLimit"
	ErrTooManyEntriesInBatchRequest  Code = "TooManyEntriesInBatchRequest"
	ErrEmptyBatchRequest             Code = "EmptyBatchRequest"
	ErrBatchEntryIdsNotDistinct      Code = "BatchEntryIdsNotDistinct"
	ErrInvalidBatchEntryID           Code = "InvalidBatchEntryId"
	ErrBatchRequestTooLong           Code = "BatchRequestTooLong"
	ErrResourceNotFound              Code = "ResourceNotFoundException"
	ErrUnsupportedOperation          Code = "UnsupportedOperation"
	ErrInvalidAddress                Code = "InvalidAddress"
	ErrInvalidIDFormat               Code = "InvalidIdFormat"
	ErrInternal                      Code = "InternalError"
	ErrRequestThrottled              Code = "RequestThrottled"
	ErrKmsAccessDenied               Code = "KmsAccessDenied"
	ErrMessageMoveTaskAlreadyRunning Code = "MessageMoveTaskAlreadyRunning" // reported as UnsupportedOperation by AWS too
)

// The codes of errors in a request itself, which the wire layers produce
// before the engine sees it (and, for the last three, qscale's producer
// endpoint).
const (
	ErrInvalidAction              Code = "InvalidAction"
	ErrUnknownOperation           Code = "UnknownOperationException"
	ErrSerialization              Code = "SerializationException"
	ErrMalformedQueryString       Code = "MalformedQueryString"
	ErrRequestEntityTooLarge      Code = "RequestEntityTooLarge"
	ErrAccessDenied               Code = "AccessDenied"
	ErrInvalidClientTokenID       Code = "InvalidClientTokenId"
	ErrSignatureDoesNotMatch      Code = "SignatureDoesNotMatch"
	ErrIncompleteSignature        Code = "IncompleteSignature"
	ErrMissingAuthenticationToken Code = "MissingAuthenticationToken"
	ErrRequestExpired             Code = "RequestExpired"
	ErrInvalidSecurity            Code = "InvalidSecurity"
	ErrServiceUnavailable         Code = "ServiceUnavailable"
	ErrRequestTimeout             Code = "RequestTimeout"
	ErrThrottling                 Code = "ThrottlingException"
	ErrUnsupportedMediaType       Code = "UnsupportedMediaType"
	ErrMethodNotAllowed           Code = "MethodNotAllowed"
)

// CodeInfo is how an error code goes on the wire.
type CodeInfo struct {
	// QueryCode is the code of the query protocol's ErrorResponse and of the
	// x-amzn-query-error header, which the SDKs report as the error code.
	QueryCode string
	// Status is the HTTP status of the SQS API.
	Status int
	// Sender marks the client's fault; false is the server's (Receiver).
	Sender bool
	// Coral puts the JSON __type in AWS's generic namespace
	// (com.amazon.coral.service) instead of SQS's (com.amazonaws.sqs).
	Coral bool
	// HTTPStatus is the status of qscale's own JSON endpoints: the producer
	// endpoint and the dashboard. It follows HTTP's meanings (404 for a
	// missing queue, 409 for a conflict, 429 for throttling) where the SQS
	// API keeps AWS's historical 400s and 403s.
	HTTPStatus int
}

// codeTable is the one table of error codes: the SQS API (sqsapi), the
// producer endpoint and the dashboard all answer from it. Statuses and
// query codes of the SQS API are those of the SQS service model.
var codeTable = map[Code]CodeInfo{
	ErrBatchEntryIdsNotDistinct:      {"AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, true, false, 400},
	ErrBatchRequestTooLong:           {"AWS.SimpleQueueService.BatchRequestTooLong", 400, true, false, 413},
	ErrEmptyBatchRequest:             {"AWS.SimpleQueueService.EmptyBatchRequest", 400, true, false, 400},
	ErrInvalidAddress:                {"InvalidAddress", 404, true, false, 404},
	ErrInvalidAttributeName:          {"InvalidAttributeName", 400, true, false, 400},
	ErrInvalidAttributeValue:         {"InvalidAttributeValue", 400, true, false, 400},
	ErrInvalidBatchEntryID:           {"AWS.SimpleQueueService.InvalidBatchEntryId", 400, true, false, 400},
	ErrInvalidIDFormat:               {"InvalidIdFormat", 400, true, false, 400},
	ErrInvalidMessageContents:        {"InvalidMessageContents", 400, true, false, 400},
	ErrMessageNotInflight:            {"AWS.SimpleQueueService.MessageNotInflight", 400, true, false, 400},
	ErrOverLimit:                     {"OverLimit", 403, true, false, 429},
	ErrPurgeQueueInProgress:          {"AWS.SimpleQueueService.PurgeQueueInProgress", 403, true, false, 409},
	ErrQueueDeletedRecently:          {"AWS.SimpleQueueService.QueueDeletedRecently", 400, true, false, 404},
	ErrQueueDoesNotExist:             {"AWS.SimpleQueueService.NonExistentQueue", 400, true, false, 404},
	ErrQueueNameExists:               {"QueueAlreadyExists", 400, true, false, 409},
	ErrReceiptHandleIsInvalid:        {"ReceiptHandleIsInvalid", 400, true, false, 400},
	ErrRequestThrottled:              {"RequestThrottled", 403, true, false, 429},
	ErrResourceNotFound:              {"ResourceNotFoundException", 404, true, false, 404},
	ErrTooManyEntriesInBatchRequest:  {"AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, true, false, 400},
	ErrUnsupportedOperation:          {"AWS.SimpleQueueService.UnsupportedOperation", 400, true, false, 400},
	ErrMessageMoveTaskAlreadyRunning: {"AWS.SimpleQueueService.UnsupportedOperation", 400, true, false, 409},
	ErrKmsAccessDenied:               {"KMS.AccessDeniedException", 400, true, false, 403},
	ErrInvalidParameterValue:         {"InvalidParameterValue", 400, true, false, 400},
	ErrMissingParameter:              {"MissingParameter", 400, true, false, 400},
	ErrInternal:                      {"InternalError", 500, false, false, 500},
	ErrInvalidAction:                 {"InvalidAction", 400, true, false, 400},
	ErrUnknownOperation:              {"InvalidAction", 400, true, true, 400},
	ErrSerialization:                 {"MalformedQueryString", 400, true, true, 400},
	ErrMalformedQueryString:          {"MalformedQueryString", 400, true, false, 400},
	ErrRequestEntityTooLarge:         {"RequestEntityTooLarge", 413, true, false, 413},
	ErrAccessDenied:                  {"AccessDenied", 403, true, false, 403},
	ErrInvalidClientTokenID:          {"InvalidClientTokenId", 403, true, false, 403},
	ErrSignatureDoesNotMatch:         {"SignatureDoesNotMatch", 403, true, false, 403},
	ErrIncompleteSignature:           {"IncompleteSignature", 400, true, false, 400},
	ErrMissingAuthenticationToken:    {"MissingAuthenticationToken", 403, true, false, 403},
	ErrRequestExpired:                {"RequestExpired", 400, true, false, 400},
	ErrInvalidSecurity:               {"InvalidSecurity", 403, true, false, 403},
	ErrServiceUnavailable:            {"ServiceUnavailable", 503, false, false, 503},
	ErrRequestTimeout:                {"RequestTimeout", 408, true, false, 408},
	ErrThrottling:                    {"ThrottlingException", 400, true, false, 429},
	ErrUnsupportedMediaType:          {"UnsupportedMediaType", 415, true, false, 415},
	ErrMethodNotAllowed:              {"MethodNotAllowed", 405, true, false, 405},
}

// queryCodes maps each query code back to its Code, for errors read back
// from an SQS endpoint. Codes that share another's query code are left out.
var queryCodes = func() map[string]Code {
	m := make(map[string]Code, len(codeTable))
	for c, i := range codeTable {
		if !i.Coral && c != ErrMessageMoveTaskAlreadyRunning {
			m[i.QueryCode] = c
		}
	}
	return m
}()

// Info returns how c goes on the wire. A code not in the table is the
// client's fault, sent as itself with status 400.
func (c Code) Info() CodeInfo {
	if i, ok := codeTable[c]; ok {
		return i
	}
	return CodeInfo{QueryCode: string(c), Status: 400, Sender: true, HTTPStatus: 400}
}

// ParseCode finds the Code of an error code as an SQS endpoint sent it,
// spelled either way (QueueDoesNotExist or
// AWS.SimpleQueueService.NonExistentQueue).
func ParseCode(s string) (Code, bool) {
	if _, ok := codeTable[Code(s)]; ok {
		return Code(s), true
	}
	c, ok := queryCodes[s]
	return c, ok
}

// HTTPStatus returns the status qscale's own JSON endpoints answer an error
// with: the table's, except for a message over the size limit, which SQS
// reports as InvalidParameterValue and which is 413 Content Too Large.
func HTTPStatus(c Code, message string) int {
	if c == ErrInvalidParameterValue && strings.Contains(message, tooLongReason) {
		return 413
	}
	return c.Info().HTTPStatus
}

// tooLongReason is how SQS says a message is over the size limit.
const tooLongReason = "Message must be shorter than"

// Error is an SQS error with the message AWS would send.
type Error struct {
	Code    Code
	Message string
	// reason is the Reason part of an invalid parameter's Message ("Value
	// V for parameter P is invalid. Reason: R."), which a batch's failed
	// entry carries alone.
	reason string
}

// BatchMessage is the text of e in a failed entry of a batch
// (BatchResultErrorEntry.Message), where SQS words a parameter's problem
// differently than as the error of a whole request: an invalid parameter
// is its bare reason ("The request include parameter that is not valid for
// this queue type"), and a message or attribute that fails validation is
// "One or more parameters cannot be validated. Reason: ...". Other errors
// keep their message.
func (e *Error) BatchMessage() string {
	if e.Code != ErrInvalidParameterValue {
		return e.Message
	}
	if e.reason != "" {
		return e.reason
	}
	if r, ok := strings.CutPrefix(e.Message, invalidPrefix); ok {
		return batchInvalidPrefix + r
	}
	if strings.HasPrefix(e.Message, "The request must contain") {
		return e.Message
	}
	return batchInvalidPrefix + e.Message
}

const (
	invalidPrefix      = "One or more parameters are invalid. Reason: "
	batchInvalidPrefix = "One or more parameters cannot be validated. Reason: "
)

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// HTTPStatus is the status qscale's own JSON endpoints answer e with.
func (e *Error) HTTPStatus() int { return HTTPStatus(e.Code, e.Message) }

// Is lets errors.Is match on the code: errors.Is(err, &Error{Code: ErrQueueDoesNotExist}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// CodeOf returns err's SQS code, or ErrInternal for an error that is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrInternal
}

// invalidParam builds AWS's common "Value V for parameter P is invalid. Reason: R." message.
func invalidParam(param string, value any, reason string) *Error {
	e := errorf(ErrInvalidParameterValue, "Value %v for parameter %s is invalid. Reason: %s.", value, param, reason)
	e.reason = reason
	return e
}

func queueDoesNotExist() *Error {
	return errorf(ErrQueueDoesNotExist, "The specified queue does not exist.")
}
