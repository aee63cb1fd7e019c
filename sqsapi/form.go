package sqsapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/qscale/qscale/queue"
)

// form reads the query protocol's flattened parameters (Attribute.1.Name,
// SendMessageBatchRequestEntry.2.MessageBody, ...) under a prefix.
type form struct {
	v      url.Values
	prefix string
}

func (f form) str(name string) string { return f.v.Get(f.prefix + name) }

func (f form) has(name string) bool {
	_, ok := f.v[f.prefix+name]
	return ok
}

func (f form) strp(name string) *string {
	if !f.has(name) {
		return nil
	}
	s := f.str(name)
	return &s
}

// intp reads an integer parameter; nil when it is absent.
func (f form) intp(name string) (*number, error) {
	if !f.has(name) {
		return nil, nil
	}
	s := f.str(name)
	n, ok := parseNumber(strings.TrimSpace(s))
	if !ok {
		return nil, &queue.Error{Code: queue.ErrInvalidParameterValue, Message: "Value " + s + " for parameter " + name + " is invalid. Reason: Must be an integer."}
	}
	return &n, nil
}

// number is an integer parameter as a client sent it, in either protocol.
// A value beyond the int64 range is kept as the nearest int64, which is out
// of every range the engine accepts, so it is refused as out of range and
// never wraps into one.
type number int64

// parseNumber reads an optionally signed decimal integer of any length.
func parseNumber(s string) (number, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return number(n), true
	}
	if errors.Is(err, strconv.ErrRange) {
		if s[0] == '-' {
			return math.MinInt64, true
		}
		return math.MaxInt64, true
	}
	return 0, false
}

// UnmarshalJSON reads a JSON integer; a fraction, an exponent or a string
// is a serialization error, as for any JSON integer member.
func (x *number) UnmarshalJSON(b []byte) error {
	n, ok := parseNumber(string(b))
	if !ok {
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeFor[int32]()}
	}
	*x = n
	return nil
}

// int returns x for an engine parameter of type int.
func (x number) int() int { return int(x) }

// seconds returns x as a duration under rule r; nil when x is absent.
func (x *number) seconds(r queue.Range) (*time.Duration, error) {
	if x == nil {
		return nil, nil
	}
	d, err := r.Duration(int64(*x))
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// indexed returns the sub-forms name.1., name.2., ... up to the first gap.
// It reads the form's keys once, so decoding a form costs time linear in
// its size however many entries it holds (a scan per entry made a large
// form quadratic).
func (f form) indexed(name string) []form {
	p := f.prefix + name + "."
	present := map[int]bool{}
	for k := range f.v {
		rest, ok := strings.CutPrefix(k, p)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || strconv.Itoa(n) != num {
			continue // not a canonical index: name.01, name.x
		}
		present[n] = true
	}
	var out []form
	for i := 1; present[i]; i++ {
		out = append(out, form{v: f.v, prefix: p + strconv.Itoa(i) + "."})
	}
	return out
}

// batchEntries returns the entries of a batch request, refusing more than
// queue.MaxBatchEntries before any entry is decoded.
func (f form) batchEntries(name string) ([]form, error) {
	entries := f.indexed(name)
	if len(entries) > queue.MaxBatchEntries {
		return nil, queue.TooManyEntries(len(entries))
	}
	return entries, nil
}

// list returns the values of name.1, name.2, ...
func (f form) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		k := f.prefix + name + "." + strconv.Itoa(i)
		vs, ok := f.v[k]
		if !ok {
			return out
		}
		out = append(out, vs[0])
	}
}

// pairs returns the map of name.N.<key> -> name.N.<value>.
func (f form) pairs(name, key, value string) map[string]string {
	entries := f.indexed(name)
	if len(entries) == 0 {
		return nil
	}
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.str(key)] = e.str(value)
	}
	return m
}

// msgAttrs decodes name.N.Name and name.N.Value.{DataType,StringValue,BinaryValue}.
func (f form) msgAttrs(name string) (map[string]jsonAttr, error) {
	entries := f.indexed(name)
	if len(entries) == 0 {
		return nil, nil
	}
	m := make(map[string]jsonAttr, len(entries))
	for _, e := range entries {
		a := jsonAttr{DataType: e.str("Value.DataType"), StringValue: e.strp("Value.StringValue")}
		if e.has("Value.BinaryValue") {
			b, err := base64.StdEncoding.DecodeString(e.str("Value.BinaryValue"))
			if err != nil {
				return nil, &wireError{Code: string(queue.ErrInvalidParameterValue), Message: "The message attribute '" + e.str("Name") + "' has an invalid binary value: not base64."}
			}
			a.BinaryValue = b
		}
		m[e.str("Name")] = a
	}
	return m, nil
}
