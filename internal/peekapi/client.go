package peekapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/qscale/qscale/queue"
)

// Client calls the message browser of an admin listener (`qscale server
// --admin-listen`). It implements Peeker.
type Client struct {
	// BaseURL is the admin listener, such as http://127.0.0.1:9327. A URL
	// with a path is the prefix of the routes instead of AdminPrefix: a
	// dashboard's http://127.0.0.1:8080/api/queues/.
	BaseURL string
	// Token is the admin token, sent as a bearer token; "" sends none.
	Token string
	// HTTP makes the requests; nil uses http.DefaultClient.
	HTTP *http.Client
}

var _ Peeker = (*Client)(nil)

// Error is an error answer of the admin listener.
type Error struct {
	Status  int
	Code    string // the SQS error code, when there is one
	Message string
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// Peek implements Peeker.
func (c *Client) Peek(ctx context.Context, name string, o queue.PeekOptions) (queue.PeekPage, error) {
	q := url.Values{}
	if o.After != 0 {
		q.Set("after", strconv.FormatUint(o.After, 10))
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var page queue.PeekPage
	err := c.get(ctx, url.PathEscape(name)+"/messages", q, &page)
	return page, err
}

// PeekMessage implements Peeker.
func (c *Client) PeekMessage(ctx context.Context, name, id string) (queue.PeekedMessage, error) {
	var m queue.PeekedMessage
	err := c.get(ctx, url.PathEscape(name)+"/messages/"+url.PathEscape(id), nil, &m)
	return m, err
}

// maxAnswer bounds an answer: a page of 100 previews, or one 1 MiB
// message, JSON-escaped.
const maxAnswer = 16 << 20

func (c *Client) get(ctx context.Context, path string, q url.Values, v any) error {
	u := strings.TrimSuffix(c.BaseURL, "/") + AdminPrefix + path
	if b, err := url.Parse(c.BaseURL); err == nil && b.Path != "" && b.Path != "/" {
		u = strings.TrimSuffix(c.BaseURL, "/") + "/" + path
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("admin listener %s: %w", c.BaseURL, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("admin listener: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(b))
			if len(eb.Error) > 200 {
				eb.Error = eb.Error[:200] + "..."
			}
		}
		return &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("admin listener: bad answer: %w", err)
	}
	return nil
}
