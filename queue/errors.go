package queue

import (
	"errors"
	"fmt"
)

// Code names an SQS error. The values are the codes AWS sends; the wire
// layer maps each to its HTTP status and protocol-specific spelling.
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

// Error is an SQS error with the message AWS would send.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

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
	return errorf(ErrInvalidParameterValue, "Value %v for parameter %s is invalid. Reason: %s.", value, param, reason)
}

func queueDoesNotExist() *Error {
	return errorf(ErrQueueDoesNotExist, "The specified queue does not exist.")
}
