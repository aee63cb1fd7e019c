package sigv4

import (
	"fmt"
	"net/http"
)

// Error is a refused signature, carrying what Amazon SQS answers in the same
// situation: the error code (the query protocol's <Code>, which is also the
// x-amzn-query-error code of the JSON protocol), the HTTP status and the
// message. Every refused request is the client's fault (AWS type "Sender").
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The error codes Verify returns. Which situation maps to which code:
//
//	MissingAuthenticationToken (403) "Request is missing Authentication Token"
//	    no Authorization header, or one that does not start with "AWS4-",
//	    and no X-Amz-Algorithm / X-Amz-Signature in the query string.
//	IncompleteSignature (400)
//	    the Authorization header lacks Credential, Signature or SignedHeaders,
//	    or the request has neither X-Amz-Date nor Date; a component of the
//	    header is not key=value; the algorithm is not AWS4-HMAC-SHA256; the
//	    credential does not have 5 slash-separated parts; the date is not in
//	    ISO-8601 basic format; a presigned URL lacks one of its X-Amz-*
//	    parameters.
//	InvalidClientTokenId (403) "The security token included in the request is invalid."
//	    the access key id is not configured.
//	SignatureDoesNotMatch (403)
//	    the signature is wrong (wrong secret, altered body, header, path or
//	    query; X-Amz-Content-Sha256 that is not the body's SHA-256); the
//	    credential scope names another service, another terminator than
//	    aws4_request or another day than the request date; host is not a
//	    signed header; an X-Amz-* header (X-Amz-Target above all), or the
//	    Content-Type of a request with a body, is present but not signed
//	    ("There were headers present in the request which were not
//	    signed: ..."); the request date is more than 15 minutes in the past
//	    ("Signature expired: ...") or the future ("Signature not yet
//	    current: ...") of the verifier's clock.
//	RequestExpired (400) "Request has expired."
//	    a presigned URL used after X-Amz-Date + X-Amz-Expires.
//	AuthorizationQueryParametersError (400)
//	    X-Amz-Expires that is not a number, negative, or over a week.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeInvalidClientTokenID       = "InvalidClientTokenId"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeRequestExpired             = "RequestExpired"
	CodeAuthorizationQueryParams   = "AuthorizationQueryParametersError"
)

// Messages, word for word as AWS sends them.
const (
	msgMissingToken    = "Request is missing Authentication Token"
	msgInvalidClientID = "The security token included in the request is invalid."
	msgSignatureWrong  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgRequestExpired  = "Request has expired."
)

func errMissingToken() *Error {
	return &Error{Code: CodeMissingAuthenticationToken, Status: http.StatusForbidden, Message: msgMissingToken}
}

func errIncomplete(format string, args ...any) *Error {
	return &Error{Code: CodeIncompleteSignature, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func errInvalidClientID() *Error {
	return &Error{Code: CodeInvalidClientTokenID, Status: http.StatusForbidden, Message: msgInvalidClientID}
}

func errMismatch(format string, args ...any) *Error {
	return &Error{Code: CodeSignatureDoesNotMatch, Status: http.StatusForbidden, Message: fmt.Sprintf(format, args...)}
}

func errQueryParams(msg string) *Error {
	return &Error{Code: CodeAuthorizationQueryParams, Status: http.StatusBadRequest, Message: msg}
}

func errExpired() *Error {
	return &Error{Code: CodeRequestExpired, Status: http.StatusBadRequest, Message: msgRequestExpired}
}
