package sqsapi

import (
	"encoding/json"
	"encoding/xml"
	"net/http"

	"github.com/qscale/qscale/queue"
)

// wireError is an error as it goes on the wire.
type wireError struct {
	Code    string // a queue.Code: its row of the error table gives the wire form
	Message string
	// Overrides of the table, for errors that carry their own wire form.
	status    int
	jsonCode  string
	namespace string
}

// resolve returns how we is sent: its row of queue's error table with the
// overrides applied, and the JSON __type.
func (we *wireError) resolve() (info queue.CodeInfo, jsonType string) {
	info = queue.Code(we.Code).Info()
	if we.status != 0 {
		info.Status = we.status
	}
	namespace := nsSQS
	if info.Coral {
		namespace = nsCoral
	}
	if we.namespace != "" {
		namespace = we.namespace
	}
	name := we.Code
	if we.jsonCode != "" {
		name = we.jsonCode
	}
	return info, namespace + "#" + name
}

func (e *wireError) Error() string { return e.Code + ": " + e.Message }

const (
	nsSQS   = "com.amazonaws.sqs"
	nsCoral = "com.amazon.coral.service"
)

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
	h.Set("x-amzn-query-error", info.QueryCode+";"+fault(info.Sender))
	w.WriteHeader(info.Status)
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
	r.Error.Type = fault(info.Sender)
	r.Error.Code = info.QueryCode
	r.Error.Message = we.Message
	r.RequestID = reqID
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("x-amzn-RequestId", reqID)
	w.WriteHeader(info.Status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(r)
}

const xmlns = "http://queue.amazonaws.com/doc/2012-11-05/"
