package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/qscale/qscale/sqsconn"
)

// RawClient speaks SQS's AWS JSON 1.0 protocol (POST /, X-Amz-Target:
// AmazonSQS.<Action>, Content-Type application/x-amz-json-1.0) straight
// over net/http with keep-alive connections: no middleware stack, no
// retries of its own (a run retries failed calls and counts them), request
// bodies appended into one byte slice, and answers decoded into structs
// that hold only the fields a run uses.
//
// It checks every answer: the HTTP status, the AWS error __type and
// message of an error answer (returned as *APIError), that every entry of
// a batch is answered as successful or failed exactly once, and the MD5 of
// every body, sent (MD5OfMessageBody) and received (MD5OfBody).
//
// Requests are signed with SigV4 (aws-sdk-go-v2's signer, with the
// credentials package sqsconn finds) unless the endpoint is a loopback
// address and no credentials are configured.
type RawClient struct {
	endpoint sqsconn.Endpoint
	url      string // endpoint with the path "/"
	http     *http.Client
	region   string
	creds    aws.CredentialsProvider // nil: requests go unsigned
	signer   *v4.Signer
}

var _ API = (*RawClient)(nil)

// APIError is an error answer of the endpoint.
type APIError struct {
	Action     string
	StatusCode int
	Code       string // the __type without its namespace, e.g. QueueDoesNotExist
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s: %s", e.Action, e.StatusCode, e.Code, e.Message)
}

// NewRawClient returns a raw JSON 1.0 client for the endpoint, region and
// credentials package sqsconn resolves from opts (LogRetries, MaxAttempts
// and MaxBackoff do not apply: it retries nothing). Requests go unsigned
// when the endpoint is on this machine and nothing but the placeholder key
// would sign them: a local server without access keys checks no
// signatures, and signing costs the load generator a sixth of its CPU.
func NewRawClient(ctx context.Context, opts sqsconn.Options) (*RawClient, error) {
	cfg, ep, err := sqsconn.Config(ctx, opts)
	if err != nil {
		return nil, err
	}
	conns := opts.MaxConns
	if conns <= 0 {
		conns = sqsconn.DefaultMaxConns
	}
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	c := &RawClient{
		http: &http.Client{Transport: &http.Transport{
			DialContext:         dial,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		}},
		endpoint: ep,
		region:   ep.Region,
		creds:    cfg.Credentials,
		url:      ep.URL + "/",
	}
	if opts.Credentials == nil && ep.Loopback() {
		if cr, err := c.creds.Retrieve(ctx); err == nil && cr.Source == sqsconn.PlaceholderSource {
			c.creds = nil
		}
	}
	if c.creds != nil {
		c.signer = v4.NewSigner()
	}
	return c, nil
}

// Endpoint is where the client sends its calls, and why.
func (c *RawClient) Endpoint() sqsconn.Endpoint { return c.endpoint }

// Signed reports whether the client signs its requests.
func (c *RawClient) Signed() bool { return c.creds != nil }

var (
	jsonContentType = []string{"application/x-amz-json-1.0"}
	targets         = map[string][]string{}
)

func init() {
	for _, a := range []string{"CreateQueue", "DeleteQueue", "SendMessage", "SendMessageBatch",
		"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch"} {
		targets[a] = []string{"AmazonSQS." + a}
	}
}

// readBufs holds answer bodies while they are decoded; json.Unmarshal
// copies the strings it keeps.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// call posts body as action and decodes a 200 answer into out (nil: the
// answer is not read beyond its status).
func (c *RawClient) call(ctx context.Context, action string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{"Content-Type": jsonContentType, "X-Amz-Target": targets[action]}
	if c.creds != nil {
		if err := c.sign(ctx, req, body); err != nil {
			return fmt.Errorf("%s: sign: %w", action, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	defer resp.Body.Close()
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	b, err := readAll((*bp)[:0], resp)
	*bp = b[:0]
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", action, err)
	}
	if resp.StatusCode != http.StatusOK {
		return decodeError(action, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", action, err)
	}
	return nil
}

func (c *RawClient) sign(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sqs", c.region, time.Now())
}

func readAll(b []byte, resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= 64<<20 {
		if int64(cap(b)) < n {
			b = make([]byte, n)
		}
		b = b[:n]
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := resp.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func decodeError(action string, status int, b []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(b, &e) != nil || e.Type == "" {
		return &APIError{Action: action, StatusCode: status, Code: "", Message: fmt.Sprintf("%.200q", b)}
	}
	code := e.Type
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if e.Message == "" {
		e.Message = e.MessageU
	}
	return &APIError{Action: action, StatusCode: status, Code: code, Message: e.Message}
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			// Invalid UTF-8: as encoding/json does, U+FFFD.
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (c *RawClient) CreateQueue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	b := append(make([]byte, 0, 128), `{"QueueName":`...)
	b = appendString(b, name)
	if len(attrs) > 0 {
		b = append(b, `,"Attributes":{`...)
		first := true
		for k, v := range attrs {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, v)
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	var out struct{ QueueUrl string }
	if err := c.call(ctx, "CreateQueue", b, &out); err != nil {
		return "", err
	}
	if out.QueueUrl == "" {
		return "", fmt.Errorf("CreateQueue: the answer has no QueueUrl")
	}
	return out.QueueUrl, nil
}

func (c *RawClient) DeleteQueue(ctx context.Context, queueURL string) error {
	b := appendString(append(make([]byte, 0, 96), `{"QueueUrl":`...), queueURL)
	return c.call(ctx, "DeleteQueue", append(b, '}'), nil)
}

func (c *RawClient) SendMessage(ctx context.Context, queueURL, body string) error {
	b := make([]byte, 0, 64+len(queueURL)+len(body)+len(body)/8)
	b = appendString(append(b, `{"QueueUrl":`...), queueURL)
	b = appendString(append(b, `,"MessageBody":`...), body)
	b = append(b, '}')
	var out struct{ MessageId, MD5OfMessageBody string }
	if err := c.call(ctx, "SendMessage", b, &out); err != nil {
		return err
	}
	if out.MessageId == "" {
		return fmt.Errorf("SendMessage: the answer has no MessageId")
	}
	if want := md5Hex(body); out.MD5OfMessageBody != want {
		return fmt.Errorf("SendMessage: MD5OfMessageBody %q, want %q", out.MD5OfMessageBody, want)
	}
	return nil
}

type batchFailure struct {
	Id, Code, Message string
	SenderFault       bool
}

func (f batchFailure) failure() Failure {
	return Failure{ID: f.Id, Code: f.Code, Message: f.Message, SenderFault: f.SenderFault}
}

func (c *RawClient) SendMessageBatch(ctx context.Context, queueURL string, entries []SendEntry) ([]Failure, error) {
	n := 64 + len(queueURL)
	for _, e := range entries {
		n += 40 + len(e.ID) + len(e.Body) + len(e.Body)/8
	}
	b := make([]byte, 0, n)
	b = appendString(append(b, `{"QueueUrl":`...), queueURL)
	b = append(b, `,"Entries":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(append(b, `{"Id":`...), e.ID)
		b = appendString(append(b, `,"MessageBody":`...), e.Body)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	var out struct {
		Successful []struct{ Id, MessageId, MD5OfMessageBody string }
		Failed     []batchFailure
	}
	if err := c.call(ctx, "SendMessageBatch", b, &out); err != nil {
		return nil, err
	}
	answered := make([]bool, len(entries))
	find := func(id string) (int, error) {
		for i := range entries {
			if entries[i].ID == id {
				if answered[i] {
					return 0, fmt.Errorf("SendMessageBatch: entry %q answered twice", id)
				}
				answered[i] = true
				return i, nil
			}
		}
		return 0, fmt.Errorf("SendMessageBatch: the answer names entry %q, which was not sent", id)
	}
	for _, s := range out.Successful {
		i, err := find(s.Id)
		if err != nil {
			return nil, err
		}
		if s.MessageId == "" {
			return nil, fmt.Errorf("SendMessageBatch: entry %q has no MessageId", s.Id)
		}
		if want := md5Hex(entries[i].Body); s.MD5OfMessageBody != want {
			return nil, fmt.Errorf("SendMessageBatch: entry %q: MD5OfMessageBody %q, want %q", s.Id, s.MD5OfMessageBody, want)
		}
	}
	var failed []Failure
	for _, f := range out.Failed {
		if _, err := find(f.Id); err != nil {
			return nil, err
		}
		failed = append(failed, f.failure())
	}
	for i, ok := range answered {
		if !ok {
			return nil, fmt.Errorf("SendMessageBatch: entry %q is neither successful nor failed in the answer", entries[i].ID)
		}
	}
	return failed, nil
}

func (c *RawClient) ReceiveMessage(ctx context.Context, queueURL string, max int, wait int32) ([]Message, error) {
	b := make([]byte, 0, 96+len(queueURL))
	b = appendString(append(b, `{"QueueUrl":`...), queueURL)
	b = strconv.AppendInt(append(b, `,"MaxNumberOfMessages":`...), int64(max), 10)
	b = strconv.AppendInt(append(b, `,"WaitTimeSeconds":`...), int64(wait), 10)
	b = append(b, '}')
	var out struct {
		Messages []struct{ MessageId, ReceiptHandle, MD5OfBody, Body string }
	}
	if err := c.call(ctx, "ReceiveMessage", b, &out); err != nil {
		return nil, err
	}
	if len(out.Messages) > max {
		return nil, fmt.Errorf("ReceiveMessage: %d messages answered, at most %d asked for", len(out.Messages), max)
	}
	ms := make([]Message, len(out.Messages))
	for i, m := range out.Messages {
		if m.MessageId == "" || m.ReceiptHandle == "" {
			return nil, fmt.Errorf("ReceiveMessage: a message without MessageId or ReceiptHandle")
		}
		if want := md5Hex(m.Body); m.MD5OfBody != want {
			return nil, fmt.Errorf("ReceiveMessage: message %s: MD5OfBody %q, the body's is %q", m.MessageId, m.MD5OfBody, want)
		}
		ms[i] = Message{ID: m.MessageId, ReceiptHandle: m.ReceiptHandle, Body: m.Body}
	}
	return ms, nil
}

func (c *RawClient) DeleteMessage(ctx context.Context, queueURL, handle string) error {
	b := make([]byte, 0, 64+len(queueURL)+len(handle))
	b = appendString(append(b, `{"QueueUrl":`...), queueURL)
	b = appendString(append(b, `,"ReceiptHandle":`...), handle)
	return c.call(ctx, "DeleteMessage", append(b, '}'), nil)
}

func (c *RawClient) DeleteMessageBatch(ctx context.Context, queueURL string, entries []DeleteEntry) ([]Failure, error) {
	n := 64 + len(queueURL)
	for _, e := range entries {
		n += 40 + len(e.ID) + len(e.ReceiptHandle)
	}
	b := make([]byte, 0, n)
	b = appendString(append(b, `{"QueueUrl":`...), queueURL)
	b = append(b, `,"Entries":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(append(b, `{"Id":`...), e.ID)
		b = appendString(append(b, `,"ReceiptHandle":`...), e.ReceiptHandle)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	var out struct {
		Successful []struct{ Id string }
		Failed     []batchFailure
	}
	if err := c.call(ctx, "DeleteMessageBatch", b, &out); err != nil {
		return nil, err
	}
	answered := make([]bool, len(entries))
	mark := func(id string) error {
		for i := range entries {
			if entries[i].ID == id {
				if answered[i] {
					return fmt.Errorf("DeleteMessageBatch: entry %q answered twice", id)
				}
				answered[i] = true
				return nil
			}
		}
		return fmt.Errorf("DeleteMessageBatch: the answer names entry %q, which was not sent", id)
	}
	for _, s := range out.Successful {
		if err := mark(s.Id); err != nil {
			return nil, err
		}
	}
	var failed []Failure
	for _, f := range out.Failed {
		if err := mark(f.Id); err != nil {
			return nil, err
		}
		failed = append(failed, f.failure())
	}
	for i, ok := range answered {
		if !ok {
			return nil, fmt.Errorf("DeleteMessageBatch: entry %q is neither successful nor failed in the answer", entries[i].ID)
		}
	}
	return failed, nil
}
