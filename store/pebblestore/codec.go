package pebblestore

import (
	"encoding/binary"
	"errors"
	"time"
	"unsafe"

	"github.com/qscale/qscale/queue"
)

// Record layouts. Every variable-length field is a uvarint length and its
// bytes; times are varint Unix nanoseconds (0 = zero time).
//
// Version 1 is a whole message: every field of queue.Message and a state.
// It is the value of a 'b' key, and of an 'm' key in stores written before
// version 2. Version 2 is a message's index record, the value of an 'm'
// key: version 1 without Body, Attributes and SystemAttributes, so that
// Load reads and decodes a few dozen bytes a message whatever their size.
const (
	codecVersion  = 1
	headerVersion = 2
)

var errCorrupt = errors.New("pebblestore: corrupt record")

type enc struct{ b []byte }

func (e *enc) str(s string) { e.b = binary.AppendUvarint(e.b, uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(p []byte) {
	e.b = binary.AppendUvarint(e.b, uint64(len(p)))
	e.b = append(e.b, p...)
}
func (e *enc) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.b = binary.AppendVarint(e.b, 0)
		return
	}
	e.b = binary.AppendVarint(e.b, t.UnixNano())
}

func (e *enc) attrs(m map[string]queue.AttributeValue) {
	e.uint(uint64(len(m)))
	for k, v := range m {
		e.str(k)
		e.str(v.DataType)
		e.str(v.StringValue)
		e.bytes(v.BinaryValue)
	}
}

func (e *enc) state(st queue.MessageState) {
	e.uint(uint64(st.ReceiveCount))
	e.time(st.FirstReceiveAt)
	e.time(st.ReceivedAt)
	e.time(st.VisibleAt)
	e.uint(st.Receipt)
}

func encodeMessage(dst []byte, m *queue.Message, st queue.MessageState) []byte {
	return encodeRecord(dst, m, st, codecVersion)
}

// encodeHeader encodes m's index record (version 2).
func encodeHeader(dst []byte, m *queue.Message, st queue.MessageState) []byte {
	return encodeRecord(dst, m, st, headerVersion)
}

func encodeRecord(dst []byte, m *queue.Message, st queue.MessageState, version byte) []byte {
	e := enc{b: append(dst, version)}
	e.str(m.ID)
	if version == codecVersion {
		e.str(m.Body)
	}
	e.str(m.BodyMD5)
	if version == codecVersion {
		e.attrs(m.Attributes)
	}
	e.str(m.AttributesMD5)
	if version == codecVersion {
		e.attrs(m.SystemAttributes)
	}
	e.str(m.SystemMD5)
	e.time(m.SentAt)
	e.time(m.OriginalEnqueueAt)
	e.str(m.GroupID)
	e.str(m.DedupID)
	e.str(m.SequenceNumber)
	e.str(m.SenderID)
	e.str(m.DeadLetterSource)
	e.state(st)
	return e.b
}

func encodeState(dst []byte, st queue.MessageState) []byte {
	e := enc{b: append(dst, codecVersion)}
	e.state(st)
	return e.b
}

type dec struct {
	b   []byte
	err error
	// base, when set, is the whole record as a string that aliases b's
	// bytes: str returns substrings of it instead of copying each field,
	// and the strings are valid only while b is (Load's callback).
	base string
	n    int // len(base)
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) raw() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) str() string {
	p := d.raw()
	if d.base == "" || len(p) == 0 {
		return string(p)
	}
	end := d.n - len(d.b)
	return d.base[end-len(p) : end]
}

func (d *dec) bytes() []byte {
	p := d.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *dec) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return time.Time{}
	}
	d.b = d.b[n:]
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

func (d *dec) attrs() map[string]queue.AttributeValue {
	n := d.uint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > 64 {
		d.err = errCorrupt
		return nil
	}
	m := make(map[string]queue.AttributeValue, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = queue.AttributeValue{DataType: d.str(), StringValue: d.str(), BinaryValue: d.bytes()}
	}
	return m
}

func (d *dec) state() queue.MessageState {
	return queue.MessageState{
		ReceiveCount:   int(d.uint()),
		FirstReceiveAt: d.time(),
		ReceivedAt:     d.time(),
		VisibleAt:      d.time(),
		Receipt:        d.uint(),
	}
}

func (d *dec) version() byte {
	if len(d.b) == 0 || (d.b[0] != codecVersion && d.b[0] != headerVersion) {
		d.err = errCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// skip passes over a length-prefixed field without copying it.
func (d *dec) skip() { d.raw() }

// skipAttrs passes over an attribute map without building it.
func (d *dec) skipAttrs() {
	n := d.uint()
	if n > 64 {
		d.err = errCorrupt
		return
	}
	for i := uint64(0); i < n*4 && d.err == nil; i++ {
		d.skip()
	}
}

// decodeMessage decodes a record of either version. With body false it
// leaves Body, Attributes and SystemAttributes empty, and skips them
// unread in a version 1 record. whole reports whether the record held them.
func decodeMessage(b []byte, seq uint64) (*queue.Message, queue.MessageState, error) {
	m, st, _, err := decodeRecord(b, seq, true)
	return m, st, err
}

func decodeRecord(b []byte, seq uint64, body bool) (m *queue.Message, st queue.MessageState, whole bool, err error) {
	m = &queue.Message{}
	st, whole, err = decodeInto(m, b, seq, body)
	if err != nil {
		return nil, st, false, err
	}
	return m, st, whole, nil
}

// decodeInto decodes a record into mm, overwriting every field. With body
// false, mm's strings alias b: they are valid only as long as b is.
func decodeInto(mm *queue.Message, b []byte, seq uint64, body bool) (st queue.MessageState, whole bool, err error) {
	d := dec{b: b}
	if !body {
		d.base, d.n = unsafe.String(unsafe.SliceData(b), len(b)), len(b)
	}
	whole = d.version() == codecVersion
	*mm = queue.Message{Seq: seq}
	mm.ID = d.str()
	if whole && body {
		mm.Body = d.str()
	} else if whole {
		d.skip()
	}
	mm.BodyMD5 = d.str()
	if whole && body {
		mm.Attributes = d.attrs()
	} else if whole {
		d.skipAttrs()
	}
	mm.AttributesMD5 = d.str()
	if whole && body {
		mm.SystemAttributes = d.attrs()
	} else if whole {
		d.skipAttrs()
	}
	mm.SystemMD5 = d.str()
	m := mm
	m.SentAt = d.time()
	m.OriginalEnqueueAt = d.time()
	m.GroupID = d.str()
	m.DedupID = d.str()
	m.SequenceNumber = d.str()
	m.SenderID = d.str()
	m.DeadLetterSource = d.str()
	st = d.state()
	if d.err != nil {
		return st, false, d.err
	}
	return st, whole, nil
}

func decodeState(b []byte) (queue.MessageState, error) {
	d := dec{b: b}
	if d.version() != codecVersion {
		return queue.MessageState{}, errCorrupt
	}
	st := d.state()
	return st, d.err
}
