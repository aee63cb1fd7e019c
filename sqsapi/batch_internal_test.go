package sqsapi

import (
	"errors"
	"testing"

	"github.com/qscale/qscale/queue"
)

// SenderFault is true for the client's errors and false for the server's,
// which a client may retry.
func TestBatchErrorSenderFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		code   string
		sender bool
	}{
		{&queue.Error{Code: queue.ErrInvalidParameterValue, Message: "x"}, "InvalidParameterValue", true},
		{&queue.Error{Code: queue.ErrReceiptHandleIsInvalid, Message: "x"}, "ReceiptHandleIsInvalid", true},
		{&queue.Error{Code: queue.ErrServiceUnavailable, Message: "The disk is full."}, "ServiceUnavailable", false},
		{errors.New("a store failure"), "InternalError", false},
	} {
		be := toBatchError("e", tc.err)
		if be.Code != tc.code || be.SenderFault != tc.sender || be.Id != "e" || be.Message == "" || be.Message == "a store failure" {
			t.Errorf("%v: %+v, want code %s sender fault %v", tc.err, be, tc.code, tc.sender)
		}
	}
}
