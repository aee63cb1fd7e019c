package sqsapi

import (
	"encoding/json"
	"encoding/xml"
	"net/http"

	"github.com/qscale/qscale/queue"
)

// wireError is an error as it goes on the wire.
type wireError struct {
	Code    string // the key of errorTable; the JSON shape name unless jsonCode is set
	Message string
	// Overrides of the table, for errors that carry their own wire form.
	status    int
	jsonCode  string
	namespace string
}

// resolve returns how we is sent.
func (we *wireError) resolve() (info errorInfo, jsonType string) {
	info = infoFor(we.Code)
	if we.status != 0 {
		info.status = we.status
	}
	if we.namespace != "" {
		info.namespace = we.namespace
	}
	name := we.Code
	if we.jsonCode != "" {
		name = we.jsonCode
	}
	return info, info.namespace + "#" + name
}

func (e *wireError) Error() string { return e.Code + ": " + e.Message }

// errorInfo is how one error code is sent: its HTTP status, the code the
// query protocol (and the x-amzn-query-error header) uses, and whose fault.
type errorInfo struct {
	status    int
	queryCode string
	sender    bool
	namespace string // JSON __type namespace
}

// errorTable is the one place that maps SQS error codes to their wire form.
// Statuses and query codes are those of the SQS service model.
var errorTable = map[string]errorInfo{
	string(queue.ErrBatchEntryIdsNotDistinct):     {400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", true, nsSQS},
	string(queue.ErrBatchRequestTooLong):          {400, "AWS.SimpleQueueService.BatchRequestTooLong", true, nsSQS},
	string(queue.ErrEmptyBatchRequest):            {400, "AWS.SimpleQueueService.EmptyBatchRequest", true, nsSQS},
	string(queue.ErrInvalidAddress):               {404, "InvalidAddress", true, nsSQS},
	string(queue.ErrInvalidAttributeName):         {400, "InvalidAttributeName", true, nsSQS},
	string(queue.ErrInvalidAttributeValue):        {400, "InvalidAttributeValue", true, nsSQS},
	string(queue.ErrInvalidBatchEntryID):          {400, "AWS.SimpleQueueService.InvalidBatchEntryId", true, nsSQS},
	string(queue.ErrInvalidIDFormat):              {400, "InvalidIdFormat", true, nsSQS},
	string(queue.ErrInvalidMessageContents):       {400, "InvalidMessageContents", true, nsSQS},
	string(queue.ErrMessageNotInflight):           {400, "AWS.SimpleQueueService.MessageNotInflight", true, nsSQS},
	string(queue.ErrOverLimit):                    {403, "OverLimit", true, nsSQS},
	string(queue.ErrPurgeQueueInProgress):         {403, "AWS.SimpleQueueService.PurgeQueueInProgress", true, nsSQS},
	string(queue.ErrQueueDeletedRecently):         {400, "AWS.SimpleQueueService.QueueDeletedRecently", true, nsSQS},
	string(queue.ErrQueueDoesNotExist):            {400, "AWS.SimpleQueueService.NonExistentQueue", true, nsSQS},
	string(queue.ErrQueueNameExists):              {400, "QueueAlreadyExists", true, nsSQS},
	string(queue.ErrReceiptHandleIsInvalid):       {404, "ReceiptHandleIsInvalid", true, nsSQS},
	string(queue.ErrRequestThrottled):             {403, "RequestThrottled", true, nsSQS},
	string(queue.ErrResourceNotFound):             {404, "ResourceNotFoundException", true, nsSQS},
	string(queue.ErrTooManyEntriesInBatchRequest): {400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", true, nsSQS},
	string(queue.ErrUnsupportedOperation):         {400, "AWS.SimpleQueueService.UnsupportedOperation", true, nsSQS},
	string(queue.ErrKmsAccessDenied):              {400, "KMS.AccessDeniedException", true, nsSQS},
	// Common errors of every AWS query service.
	string(queue.ErrInvalidParameterValue): {400, "InvalidParameterValue", true, nsSQS},
	string(queue.ErrMissingParameter):      {400, "MissingParameter", true, nsSQS},
	"InvalidAction":                        {400, "InvalidAction", true, nsSQS},
	"UnknownOperationException":            {400, "InvalidAction", true, nsCoral},
	"SerializationException":               {400, "MalformedQueryString", true, nsCoral},
	"MalformedQueryString":                 {400, "MalformedQueryString", true, nsSQS},
	"RequestEntityTooLarge":                {413, "RequestEntityTooLarge", true, nsSQS},
	"AccessDenied":                         {403, "AccessDenied", true, nsSQS},
	"InvalidClientTokenId":                 {403, "InvalidClientTokenId", true, nsSQS},
	"SignatureDoesNotMatch":                {403, "SignatureDoesNotMatch", true, nsSQS},
	"IncompleteSignature":                  {400, "IncompleteSignature", true, nsSQS},
	"MissingAuthenticationToken":           {403, "MissingAuthenticationToken", true, nsSQS},
	"RequestExpired":                       {400, "RequestExpired", true, nsSQS},
	"InvalidSecurity":                      {403, "InvalidSecurity", true, nsSQS},
	"ServiceUnavailable":                   {503, "ServiceUnavailable", false, nsSQS},
	string(queue.ErrInternal):              {500, "InternalError", false, nsSQS},
}

const (
	nsSQS   = "com.amazonaws.sqs"
	nsCoral = "com.amazon.coral.service"
)

func infoFor(code string) errorInfo {
	if i, ok := errorTable[code]; ok {
		return i
	}
	return errorInfo{400, code, true, nsSQS}
}

// toWire turns any error into its wire form. Engine errors keep their code;
// anything else is an internal error whose detail is not leaked.
func toWire(err error) *wireError {
	switch e := err.(type) {
	case *wireError:
		return e
	case *queue.Error:
		return &wireError{Code: string(e.Code), Message: e.Message}
	}
	return &wireError{Code: string(queue.ErrInternal), Message: "We encountered an internal error. Please try again."}
}

func fault(sender bool) string {
	if sender {
		return "Sender"
	}
	return "Receiver"
}

func writeJSONError(w http.ResponseWriter, reqID string, we *wireError) {
	info, typ := we.resolve()
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-RequestId", reqID)
	h.Set("x-amzn-query-error", info.queryCode+";"+fault(info.sender))
	w.WriteHeader(info.status)
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{typ, we.Message})
	w.Write(body)
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
		Detail  string `xml:"Detail"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeXMLError(w http.ResponseWriter, reqID string, we *wireError) {
	info, _ := we.resolve()
	var r xmlErrorResponse
	r.Xmlns = xmlns
	r.Error.Type = fault(info.sender)
	r.Error.Code = info.queryCode
	r.Error.Message = we.Message
	r.RequestID = reqID
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("x-amzn-RequestId", reqID)
	w.WriteHeader(info.status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(r)
}

const xmlns = "http://queue.amazonaws.com/doc/2012-11-05/"
