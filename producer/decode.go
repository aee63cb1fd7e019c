package producer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits the endpoint enforces before a message reaches the queue, as SQS
// does.
const (
	MaxMessageSize = 1 << 20 // bytes: body plus attribute names, types and values
	MaxBatch       = 10      // messages per request
	MaxDelay       = 900     // seconds
	// DefaultMaxRequestBytes bounds a request body: room for a 1 MiB batch
	// whose JSON escaping doubled it, and then some.
	DefaultMaxRequestBytes = 4 << 20
)

// jsonMessage is one message as the POST body spells it.
type jsonMessage struct {
	Body                   *string              `json:"body"`
	Attributes             map[string]Attribute `json:"attributes"`
	DelaySeconds           *int                 `json:"delaySeconds"`
	MessageGroupID         string               `json:"messageGroupId"`
	MessageDeduplicationID string               `json:"messageDeduplicationId"`
}

// Decode turns one request into the messages to send. query is the URL's
// query; body the request body (empty for GET). batch reports whether the
// body was a JSON array, which is answered with one result per entry. The
// error is always an *Error with a 4xx status.
func Decode(method, contentType string, query url.Values, body []byte) (msgs []Message, batch bool, err *Error) {
	switch method {
	case http.MethodGet:
		return decodeGet(query)
	case http.MethodPost:
	default:
		return nil, false, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			fmt.Sprintf("Method %s is not allowed: use GET /queue/NAME?message=TEXT or POST /queue/NAME.", method))
	}
	mediaType, _, perr := mime.ParseMediaType(contentType)
	if perr != nil {
		mediaType = ""
	}
	switch {
	case strings.HasPrefix(mediaType, "text/"):
		m, err := fromQuery(query)
		if err != nil {
			return nil, false, err
		}
		m.Body = string(body)
		if err := check(&m); err != nil {
			return nil, false, err
		}
		return []Message{m}, false, nil
	case mediaType == "" || mediaType == "application/json" || strings.HasSuffix(mediaType, "+json") || looksJSON(body):
		return decodeJSON(body)
	}
	return nil, false, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		fmt.Sprintf("Content-Type %q is not supported: send JSON, or a raw body as text/plain.", contentType))
}

func looksJSON(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

func decodeGet(query url.Values) ([]Message, bool, *Error) {
	if !query.Has("message") {
		return nil, false, errorf(400, CodeMissingParameter, "The request must contain the parameter message.")
	}
	m, err := fromQuery(query)
	if err != nil {
		return nil, false, err
	}
	m.Body = query.Get("message")
	if err := check(&m); err != nil {
		return nil, false, err
	}
	return []Message{m}, false, nil
}

// fromQuery reads the optional delaySeconds, messageGroupId and
// messageDeduplicationId parameters.
func fromQuery(query url.Values) (Message, *Error) {
	var m Message
	if query.Has("delaySeconds") {
		v := query.Get("delaySeconds")
		n, err := strconv.Atoi(v)
		if err != nil {
			return m, invalidValue("delaySeconds", v, "must be an integer from 0 to 900")
		}
		m.DelaySeconds = &n
	}
	m.GroupID = query.Get("messageGroupId")
	m.DedupID = query.Get("messageDeduplicationId")
	return m, nil
}

func decodeJSON(body []byte) ([]Message, bool, *Error) {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 {
		return nil, false, errorf(400, CodeMissingParameter, `The request body is empty: send {"body": "..."}, an array of up to 10 of those, or a text/plain body.`)
	}
	batch := b[0] == '['
	var entries []jsonMessage
	if batch {
		if err := strictUnmarshal(b, &entries); err != nil {
			return nil, true, err
		}
		switch {
		case len(entries) == 0:
			return nil, true, errorf(400, CodeEmptyBatch, "There should be at least one message in the request.")
		case len(entries) > MaxBatch:
			return nil, true, errorf(400, CodeTooManyEntries,
				fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", MaxBatch, len(entries)))
		}
	} else {
		var one jsonMessage
		if err := strictUnmarshal(b, &one); err != nil {
			return nil, false, err
		}
		entries = []jsonMessage{one}
	}
	msgs := make([]Message, len(entries))
	total := 0
	for i, e := range entries {
		if e.Body == nil {
			return nil, batch, errorf(400, CodeMissingParameter, entryPrefix(batch, i)+`The message must contain the field "body".`)
		}
		msgs[i] = Message{Body: *e.Body, Attributes: e.Attributes, DelaySeconds: e.DelaySeconds,
			GroupID: e.MessageGroupID, DedupID: e.MessageDeduplicationID}
		if err := check(&msgs[i]); err != nil {
			err.Message = entryPrefix(batch, i) + err.Message
			return nil, batch, err
		}
		total += size(&msgs[i])
	}
	if batch && total > MaxMessageSize {
		return nil, true, errorf(413, CodeBatchTooLong,
			fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSize, total))
	}
	return msgs, batch, nil
}

func entryPrefix(batch bool, i int) string {
	if !batch {
		return ""
	}
	return fmt.Sprintf("Entry %d: ", i)
}

// strictUnmarshal decodes exactly one JSON value with no unknown fields.
func strictUnmarshal(b []byte, v any) *Error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(400, CodeInvalidParameterValue, "The request body is not valid JSON for a message: "+jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(400, CodeInvalidParameterValue, "The request body has data after its JSON value.")
	}
	return nil
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %q cannot be a JSON %s.", te.Field, te.Value)
	}
	return err.Error() + "."
}

// check validates what the endpoint checks itself; the queue checks the rest.
func check(m *Message) *Error {
	if m.Body == "" {
		return errorf(400, CodeMissingParameter, "The message body must not be empty.")
	}
	if !utf8.ValidString(m.Body) {
		return errorf(400, "InvalidMessageContents", "The message body is not valid UTF-8.")
	}
	if m.DelaySeconds != nil && (*m.DelaySeconds < 0 || *m.DelaySeconds > MaxDelay) {
		return invalidValue("delaySeconds", strconv.Itoa(*m.DelaySeconds), "must be an integer from 0 to 900")
	}
	if n := size(m); n > MaxMessageSize {
		return errorf(413, CodeInvalidParameterValue,
			fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes (it has %d).", MaxMessageSize, n))
	}
	return nil
}

// size is what counts against the 1 MiB limit, as SQS counts it.
func size(m *Message) int {
	n := len(m.Body)
	for name, a := range m.Attributes {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

func invalidValue(param, value, reason string) *Error {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return errorf(400, CodeInvalidParameterValue, fmt.Sprintf("Value %q for parameter %s is invalid: %s.", value, param, reason))
}
