// Package sqsapi serves qscale's queue engine over the Amazon SQS API, in
// both wire protocols that AWS clients use: AWS JSON 1.0 (X-Amz-Target:
// AmazonSQS.<Action>, current SDKs) and the query protocol (form-encoded
// Action=..., XML answers; older SDKs and CLIs). Every action decodes into
// one input struct whichever protocol carried it, runs once, and encodes its
// output in the caller's protocol.
package sqsapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/qscale/qscale/internal/sigv4"
	"github.com/qscale/qscale/queue"
)

// Verifier checks a request's signature; body is the whole request body.
// A refusal that is a *sigv4.Error is sent with its code, status and
// message; any other is sent as AccessDenied.
type Verifier interface {
	Verify(r *http.Request, body []byte) error
}

// Options configure a Handler.
type Options struct {
	// BaseURL is the scheme and host of queue URLs. Empty: taken from each
	// request's Host, which is then one that passed the checks: signed
	// (with a Verifier) or allowed by BrowserGuard. A request without a
	// Host gets ListenAddr.
	BaseURL string
	// ListenAddr is the host:port queue URLs name when neither BaseURL nor
	// the request's Host does.
	ListenAddr string
	// Verifier, when set, must accept every request's signature.
	Verifier Verifier
	// BrowserGuard refuses, with AccessDenied, requests addressed to a
	// Host that is not an IP address, localhost or one of AllowedHosts
	// (DNS rebinding), and requests that a browser sent for a page of
	// another site (Sec-Fetch-Site, Origin, Referer; see webguard). SDKs
	// and CLIs are not affected. server.Start sets it whenever no access
	// keys are configured: then nothing else stops a web page.
	BrowserGuard bool
	// AllowedHosts are the host names (without port) BrowserGuard accepts
	// besides IP addresses and localhost.
	AllowedHosts []string
	// MaxBodyMemory bounds the bytes all request bodies hold at once
	// (default DefaultMaxBodyMemory); a request that would exceed it gets
	// ServiceUnavailable, which SDKs retry.
	MaxBodyMemory int64
	// BodyTimeout is how long a client may take to send its body's first
	// 64 KiB, and each further 64 KiB (default DefaultBodyTimeout).
	BodyTimeout time.Duration
	// Observer, when set, is told of every request once it is answered
	// (server.Start counts them for Prometheus).
	Observer Observer
	// Reuse, when set, takes back a connection whose parked long poll was
	// answered, to serve its next request (see park.go); the server's
	// listener returns it from Accept. Nil: long polls wait in net/http's
	// handler goroutine.
	Reuse func(net.Conn)
	// IdleTimeout is how long a connection whose parked poll was answered
	// waits for its client's next request before it is closed (default
	// DefaultIdleTimeout); it should match the http.Server's IdleTimeout.
	IdleTimeout time.Duration
	// TLS tells that the listener serves TLS: queue URLs are https, also
	// for requests served off net/http, which does not see the TLS of a
	// connection handed back to it.
	TLS    bool
	Logger *slog.Logger
}

// Handler serves the SQS API.
type Handler struct {
	e       *queue.Engine
	opts    Options
	log     *slog.Logger
	budget  *bodyBudget
	parked  sync.WaitGroup // parked long polls, until they answer and hand their connection back
	waiting atomic.Int64   // parked long polls waiting for the engine

	idleMu     sync.Mutex            // guards idle and idleClosed
	idle       map[net.Conn]struct{} // answered parked polls' connections awaiting a request
	idleClosed bool                  // CloseIdle was called
}

// Parked returns how many long polls wait parked off net/http now (see
// park.go).
func (h *Handler) Parked() int { return int(h.waiting.Load()) }

// DefaultIdleTimeout is Options.IdleTimeout's default.
const DefaultIdleTimeout = time.Minute

// NewHandler returns an http.Handler serving e's queues.
func NewHandler(e *queue.Engine, opts Options) *Handler {
	h := &Handler{e: e, opts: opts, log: opts.Logger, budget: newBodyBudget(opts.MaxBodyMemory)}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

type protocol int

const (
	protoQuery protocol = iota
	protoJSON
)

// call is one request in flight.
type call struct {
	h      *Handler
	r      *http.Request
	w      http.ResponseWriter
	proto  protocol
	reqID  string
	action string
	code   string // the error code answered, "" while none
	form   form
	body   []byte
	start  time.Time // when the request came, for the Observer
	parked bool      // the action took the connection and answers later
	// held is the buffer behind body, released once the input is decoded:
	// a long poll then waits without it.
	held *body
}

// releaseBody gives the request body's buffer back once nothing reads it.
func (c *call) releaseBody() {
	c.body = nil
	if c.held != nil {
		c.held.release()
	}
}

func newRequestID() string { return queue.NewUUID() }

// ServeHTTP decodes the request, runs its action and answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{h: h, r: r, w: w, reqID: newRequestID()}
	if obs := h.opts.Observer; obs != nil {
		c.start = time.Now()
		defer func() {
			if !c.parked { // a parked poll is observed when it answers
				obs.ObserveRequest(c.action, c.code, time.Since(c.start))
			}
		}()
	}
	target := r.Header.Get("X-Amz-Target")
	if strings.HasPrefix(target, "AmazonSQS.") {
		c.proto = protoJSON
		c.action = strings.TrimPrefix(target, "AmazonSQS.")
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		closeUnread(w, r)
		c.fail(w, &wireError{Code: "InvalidAction", Message: "The HTTP method " + r.Method + " is not supported."})
		return
	}
	if h.opts.BrowserGuard {
		if msg := h.browserRefusal(r); msg != "" {
			closeUnread(w, r)
			c.fail(w, &wireError{Code: "AccessDenied", Message: msg, status: http.StatusForbidden})
			return
		}
	}
	var b body
	defer b.release()
	if err := h.readBody(w, r, &b); err != nil {
		closeUnread(w, r)
		c.fail(w, bodyError(err))
		return
	}
	body := b.bytes()
	c.body, c.held = body, &b
	if h.opts.Verifier != nil {
		if err := h.opts.Verifier.Verify(r, body); err != nil {
			c.fail(w, authError(err))
			return
		}
	}
	if c.proto == protoQuery {
		vals := r.URL.Query()
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method == http.MethodPost && (ct == "application/x-www-form-urlencoded" || ct == "") && len(body) > 0 {
			pv, err := url.ParseQuery(string(body))
			if err != nil {
				c.fail(w, &wireError{Code: "MalformedQueryString", Message: "The query string is malformed: " + err.Error()})
				return
			}
			for k, v := range pv {
				vals[k] = append(vals[k], v...)
			}
		}
		c.form = form{v: vals}
		c.action = vals.Get("Action")
		if c.action == "" {
			if target != "" || strings.Contains(r.Header.Get("Content-Type"), "json") {
				c.proto = protoJSON
				c.fail(w, &wireError{Code: "UnknownOperationException", Message: "Unknown operation " + target})
				return
			}
			c.fail(w, &wireError{Code: "MissingParameter", Message: "The request must contain the parameter Action."})
			return
		}
	}
	a, ok := actions[c.action]
	if !ok {
		if c.proto == protoJSON {
			c.fail(w, &wireError{Code: "UnknownOperationException", Message: "Unknown operation " + c.action})
		} else {
			c.fail(w, &wireError{Code: "InvalidAction", Message: "The action " + c.action + " is not valid for this web service."})
		}
		return
	}
	out, err := a(r.Context(), c)
	if err != nil {
		c.fail(w, err)
		return
	}
	if out == parked {
		return // the action answers on its own
	}
	c.reply(w, out)
}

func (c *call) fail(w http.ResponseWriter, err error) {
	we := toWire(err)
	c.code = we.Code
	if we.Code == string(queue.ErrInternal) {
		c.h.log.Error("internal error", "action", c.action, "err", err)
	}
	if c.proto == protoJSON {
		writeJSONError(w, c.reqID, we)
	} else {
		writeXMLError(w, c.reqID, we)
	}
}

// authError turns a refused signature into its wire form. The JSON
// protocol names these errors the way AWS's JSON services do; the query code
// (also the x-amzn-query-error code) is the SQS one.
func authError(err error) *wireError {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		return &wireError{Code: "AccessDenied", Message: "Access to the resource is denied.", status: 403}
	}
	jsonCode := map[string]string{
		sigv4.CodeSignatureDoesNotMatch:      "InvalidSignatureException",
		sigv4.CodeInvalidClientTokenID:       "UnrecognizedClientException",
		sigv4.CodeMissingAuthenticationToken: "MissingAuthenticationTokenException",
		sigv4.CodeIncompleteSignature:        "IncompleteSignatureException",
	}[se.Code]
	return &wireError{Code: se.Code, Message: se.Message, status: se.Status, jsonCode: jsonCode, namespace: nsCoral}
}

// reply encodes out in the call's protocol. out is a pointer to the
// action's output struct, or nil for actions that answer nothing.
func (c *call) reply(w http.ResponseWriter, out any) {
	h := w.Header()
	h.Set("x-amzn-RequestId", c.reqID)
	if c.proto == protoJSON {
		h.Set("Content-Type", "application/x-amz-json-1.0")
		if out == nil {
			w.Write([]byte("{}"))
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			c.fail(w, err)
			return
		}
		// A known length spares both sides chunked framing of answers
		// larger than net/http's 2 KiB buffer (a ReceiveMessage of ten).
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
		return
	}
	h.Set("Content-Type", "text/xml")
	var sb strings.Builder
	sb.WriteString(xml.Header)
	sb.WriteString("<" + c.action + "Response xmlns=\"" + xmlns + "\">")
	if out != nil {
		if x, ok := out.(xmlResult); ok {
			out = x.xmlResult()
		}
		enc := xml.NewEncoder(&sb)
		if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: c.action + "Result"}}); err != nil {
			c.fail(w, err)
			return
		}
		enc.Flush()
	}
	sb.WriteString("<ResponseMetadata><RequestId>" + c.reqID + "</RequestId></ResponseMetadata>")
	sb.WriteString("</" + c.action + "Response>")
	w.Write([]byte(sb.String()))
}

// xmlResult is an output whose XML shape differs from its JSON shape
// (maps become lists of entries, lists are flattened).
type xmlResult interface {
	xmlResult() any
}

// actionFunc decodes the call's input in its protocol, runs the action and
// returns the output to encode (nil for none).
type actionFunc func(ctx context.Context, c *call) (any, error)

// handle adapts a typed action: decode from JSON or from the query form,
// then run.
func handle[I any](fromQuery func(f form, in *I) error, run func(ctx context.Context, c *call, in *I) (any, error)) actionFunc {
	return func(ctx context.Context, c *call) (any, error) {
		in := new(I)
		if c.proto == protoJSON {
			if len(c.body) > 0 {
				// encoding/json would turn invalid UTF-8 into U+FFFD, and
				// the MD5s answered would not be those the client computed.
				if !utf8.Valid(c.body) {
					return nil, &wireError{Code: "SerializationException", Message: "The request body of " + c.action + " is not valid UTF-8."}
				}
				if err := json.Unmarshal(c.body, in); err != nil {
					return nil, &wireError{Code: "SerializationException", Message: "The request body could not be parsed as the JSON input of " + c.action + ": " + jsonProblem(err)}
				}
			}
		} else if fromQuery != nil {
			if err := fromQuery(c.form, in); err != nil {
				return nil, err
			}
		}
		c.releaseBody()
		return run(ctx, c, in)
	}
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s must be %s, not %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// baseURL returns scheme://host for queue URLs: Options.BaseURL, else the
// request's Host, which by now is signed (Verifier) or allowed
// (BrowserGuard), else Options.ListenAddr.
func (c *call) baseURL() string {
	if c.h.opts.BaseURL != "" {
		return strings.TrimRight(c.h.opts.BaseURL, "/")
	}
	scheme := "http"
	if c.r.TLS != nil || c.h.opts.TLS {
		scheme = "https"
	}
	host := c.r.Host
	if host == "" {
		host = c.h.opts.ListenAddr
	}
	return scheme + "://" + host
}

func (c *call) queueURL(q *queue.Queue) string {
	return c.baseURL() + "/" + c.h.e.AccountID() + "/" + q.Name()
}

// queue resolves a QueueUrl parameter (or, when it is empty, the request
// path, where older clients put it).
func (c *call) queue(queueURL string) (*queue.Queue, error) {
	path := queueURL
	if path == "" {
		path = c.r.URL.Path
		if strings.Trim(path, "/") == "" {
			return nil, &wireError{Code: string(queue.ErrMissingParameter), Message: "The request must contain the parameter QueueUrl."}
		}
	} else if u, err := url.Parse(queueURL); err == nil && u.Host != "" {
		path = u.Path
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	name := parts[len(parts)-1]
	if len(parts) > 2 || name == "" {
		return nil, &wireError{Code: string(queue.ErrInvalidAddress), Message: "The address " + queueURL + " is not valid for this endpoint."}
	}
	if len(parts) == 2 && parts[0] != c.h.e.AccountID() {
		return nil, &queue.Error{Code: queue.ErrQueueDoesNotExist, Message: "The specified queue does not exist."}
	}
	return c.h.e.Queue(name)
}

func missing(param string) error {
	return &wireError{Code: string(queue.ErrMissingParameter), Message: "The request must contain the parameter " + param + "."}
}
