package producer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qscale/qscale/queue"
)

// SQS's limits, as the queue engine defines them, for callers that size
// what they send.
const (
	MaxMessageSize = queue.MaxMessageSize              // bytes: body plus attribute names, types and values
	MaxBatch       = queue.MaxBatchEntries             // messages per request
	MaxDelay       = int(queue.MaxDelay / time.Second) // seconds
)

// DefaultMaxRequestBytes bounds a request body: room for a 1 MiB batch
// whose JSON escaping doubled it, and then some.
const DefaultMaxRequestBytes = 4 << 20

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
//
// Decode only decodes: the queue validates each message (body, attributes,
// size, FIFO ids) as it does for the SQS API, with the same messages. It
// refuses itself what could not reach the queue intact: a body that is not
// UTF-8, a delay that an SQS client's 32-bit field would truncate, and more
// messages than a batch holds.
func Decode(method, contentType string, query url.Values, body []byte) (msgs []Message, batch bool, err *Error) {
	switch method {
	case http.MethodGet:
		return decodeGet(query)
	case http.MethodPost:
	default:
		return nil, false, newError(queue.ErrMethodNotAllowed,
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
	return nil, false, newError(queue.ErrUnsupportedMediaType,
		fmt.Sprintf("Content-Type %q is not supported: send JSON, or a raw body as text/plain.", contentType))
}

func looksJSON(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

func decodeGet(query url.Values) ([]Message, bool, *Error) {
	if !query.Has("message") {
		return nil, false, newError(queue.ErrMissingParameter, "The request must contain the parameter message.")
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
		if errors.Is(err, strconv.ErrRange) {
			n, err = math.MaxInt, nil // out of range: refused as such by check
			if strings.HasPrefix(v, "-") {
				n = math.MinInt
			}
		}
		if err != nil {
			return m, newError(queue.ErrInvalidParameterValue, fmt.Sprintf("Value %s for parameter delaySeconds is invalid. Reason: Must be an integer.", clip(v)))
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
		return nil, false, newError(queue.ErrMissingParameter, `The request body is empty: send {"body": "..."}, an array of up to 10 of those, or a text/plain body.`)
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD: refuse it instead.
	if !utf8.Valid(b) {
		return nil, false, newError(queue.ErrInvalidMessageContents, "The request body is not valid UTF-8.")
	}
	batch := b[0] == '['
	var entries []jsonMessage
	if batch {
		if err := strictUnmarshal(b, &entries); err != nil {
			return nil, true, err
		}
		if err := queue.CheckBatchCount("message", len(entries)); err != nil {
			return nil, true, engineError(err)
		}
	} else {
		var one jsonMessage
		if err := strictUnmarshal(b, &one); err != nil {
			return nil, false, err
		}
		entries = []jsonMessage{one}
	}
	msgs := make([]Message, len(entries))
	for i, e := range entries {
		msgs[i] = Message{Attributes: e.Attributes, DelaySeconds: e.DelaySeconds,
			GroupID: e.MessageGroupID, DedupID: e.MessageDeduplicationID}
		if e.Body != nil {
			msgs[i].Body = *e.Body
		}
		if err := check(&msgs[i]); err != nil {
			err.Message = entryPrefix(batch, i) + err.Message
			return nil, batch, err
		}
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
		return newError(queue.ErrInvalidParameterValue, "The request body is not valid JSON for a message: "+jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newError(queue.ErrInvalidParameterValue, "The request body has data after its JSON value.")
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

// check refuses what could not reach a queue intact. The body's UTF-8 is
// checked here because an SQS client would replace invalid bytes, and the
// delay because an SQS client holds it in 32 bits; the queue checks the rest
// (and these again) with the same rules.
func check(m *Message) *Error {
	if !utf8.ValidString(m.Body) {
		return newError(queue.ErrInvalidMessageContents, "The message body is not valid UTF-8.")
	}
	if m.DelaySeconds != nil {
		if err := queue.DelaySecondsRange.Check(int64(*m.DelaySeconds)); err != nil {
			return engineError(err)
		}
	}
	return nil
}

func clip(value string) string {
	if len(value) > 64 {
		return value[:64] + "..."
	}
	return value
}
