package queue

import (
	"errors"
	"fmt"
)

// Errors a Store returns (wrapped) when it cannot make a write durable. The
// engine refuses the request with their code and message, and keeps nothing
// of it, so a client that retries loses nothing.
var (
	// ErrStoreFull: the store's disk has less free space than its
	// watermark, so new messages and queues are refused until space returns.
	// Receives, deletes and reads go on.
	ErrStoreFull = &Error{Code: ErrServiceUnavailable, Message: "The server's disk is almost full, so the message was not stored. Retry later."}
	// ErrStoreUnavailable: the store failed to write and is recovering.
	ErrStoreUnavailable = &Error{Code: ErrServiceUnavailable, Message: "The server could not write to its storage, so the request was not stored. Retry later."}
)

// storeFailure is the answer to a send whose store commit failed: the
// store's own SQS error when it has one, InternalError otherwise.
func storeFailure(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errorf(ErrInternal, "Could not store the message: %v", err)
}

// storeError is the error of a request whose store commit failed: the
// store's own SQS error when it has one (ServiceUnavailable on a full
// disk), so the wire layer answers with its code; else err wrapped with
// what was being stored.
func storeError(what string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return fmt.Errorf("%s: %w", what, err)
}
