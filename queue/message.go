package queue

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AttributeValue is a message attribute as SQS defines it. DataType is
// "String", "Number" or "Binary", optionally followed by ".custom-label".
type AttributeValue struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

func (v AttributeValue) isBinary() bool { return baseType(v.DataType) == "Binary" }

func baseType(dataType string) string {
	if i := strings.IndexByte(dataType, '.'); i >= 0 {
		return dataType[:i]
	}
	return dataType
}

// Message is one message whole: what a send stores, a receive returns and
// a store keeps. Its fields never change once it is stored, so a *Message
// may be read without a lock. The engine keeps only a compact index of
// each message in memory (entry) and reads the Message back from its store
// or its body cache when it needs the body.
type Message struct {
	Seq               uint64 // per-queue sequence; orders messages and keys them in the store
	ID                string
	Body              string
	BodyMD5           string
	Attributes        map[string]AttributeValue // message attributes
	AttributesMD5     string                    // empty when there are none
	SystemAttributes  map[string]AttributeValue // AWSTraceHeader
	SystemMD5         string
	SentAt            time.Time
	GroupID           string // FIFO only
	DedupID           string // FIFO only
	SequenceNumber    string // FIFO only
	SenderID          string
	DeadLetterSource  string // ARN of the queue it was moved from, if any
	OriginalEnqueueAt time.Time
}

// MessageState is the part of a message that changes as it is received.
type MessageState struct {
	ReceiveCount   int
	FirstReceiveAt time.Time
	ReceivedAt     time.Time // time of the latest receive
	VisibleAt      time.Time // when it is (or was) next visible
	Receipt        uint64    // nonce of the current receipt handle; 0 = never received
}

// size is what counts against MaximumMessageSize: the body plus, for each
// message attribute, its name, data type and value.
func messageSize(body string, attrs map[string]AttributeValue) int {
	n := len(body)
	for name, v := range attrs {
		n += len(name) + len(v.DataType) + len(v.StringValue) + len(v.BinaryValue)
	}
	return n
}

// MD5Hex returns the hex MD5 of s, as SQS reports MD5OfMessageBody.
func MD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// AttributesMD5 computes MD5OfMessageAttributes the way SQS does: attributes
// sorted by name, each encoded as length-prefixed name, data type, a
// transport byte (1 string/number, 2 binary) and length-prefixed value.
func AttributesMD5(attrs map[string]AttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var lenBuf [4]byte
	writeLP := func(b []byte) {
		binary.BigEndian.PutUint32(lenBuf[:], uint32(len(b)))
		h.Write(lenBuf[:])
		h.Write(b)
	}
	for _, n := range names {
		v := attrs[n]
		writeLP([]byte(n))
		writeLP([]byte(v.DataType))
		if v.isBinary() {
			h.Write([]byte{2})
			writeLP(v.BinaryValue)
		} else {
			h.Write([]byte{1})
			writeLP([]byte(v.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validBody reports whether s holds only the characters SQS allows:
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBody(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != 0x9 && c != 0xA && c != 0xD {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += size
	}
	return true
}

// validateAttributes checks message attributes the way SQS does.
func validateAttributes(attrs map[string]AttributeValue, system bool) *Error {
	if len(attrs) > MaxMessageAttributes && !system {
		return errorf(ErrInvalidParameterValue, "Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), MaxMessageAttributes)
	}
	for name, v := range attrs {
		if system {
			if name != "AWSTraceHeader" {
				return errorf(ErrInvalidParameterValue, "Message system attribute name '%s' is invalid.", name)
			}
		} else if reason := attributeNameProblem(name); reason != "" {
			return errorf(ErrInvalidParameterValue, "Message (user) attribute name '%s' is invalid. %s", name, reason)
		}
		if v.DataType == "" {
			return errorf(ErrInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		if utf8.RuneCountInString(v.DataType) > MaxAttributeTypeLen {
			return errorf(ErrInvalidParameterValue, "Message attribute '%s' type must be less than %d characters.", name, MaxAttributeTypeLen)
		}
		if !validBody(v.DataType) {
			// A type is sent back as it came and is part of the MD5 of the
			// attributes: one a client could not read back intact (invalid
			// UTF-8, control characters) would fail its checksum on receive.
			return errorf(ErrInvalidParameterValue, "Message attribute '%s' type contains invalid characters. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.", name)
		}
		switch baseType(v.DataType) {
		case "String":
			if v.StringValue == "" {
				return errorf(ErrInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute value for message attribute type 'String'.", name)
			}
			if !validBody(v.StringValue) {
				return errorf(ErrInvalidParameterValue, "The message attribute '%s' contains invalid characters.", name)
			}
		case "Number":
			if v.StringValue == "" {
				return errorf(ErrInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Number'.", name)
			}
			if !validNumber(v.StringValue) {
				return errorf(ErrInvalidParameterValue, "Can't cast the value of message (user) attribute '%s' to a number.", name)
			}
		case "Binary":
			if len(v.BinaryValue) == 0 {
				return errorf(ErrInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", name)
			}
		default:
			return errorf(ErrInvalidParameterValue, "The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		}
		if system && baseType(v.DataType) != "String" {
			return errorf(ErrInvalidParameterValue, "The type of message system attribute '%s' is invalid. You must use String.", name)
		}
	}
	return nil
}

func attributeNameProblem(name string) string {
	switch {
	case name == "":
		return "Attribute name must not be empty."
	case utf8.RuneCountInString(name) > MaxAttributeNameLen:
		return fmt.Sprintf("Message attribute name must be at most %d characters long.", MaxAttributeNameLen)
	case strings.HasPrefix(strings.ToLower(name), "aws.") || strings.HasPrefix(strings.ToLower(name), "amazon."):
		return "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use."
	case name[0] == '.' || name[len(name)-1] == '.':
		return "Message attribute names can't start or end with a period."
	case strings.Contains(name, ".."):
		return "Message attribute names can't contain successive periods."
	}
	for _, r := range name {
		// Letters and digits of any script, as SQS accepts them.
		ok := r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
		if !ok || r == utf8.RuneError {
			return "Message attribute names can only contain alphanumeric characters, hyphens (-), underscores (_), and periods (.)."
		}
	}
	return ""
}

// validNumber accepts what SQS accepts for Number attributes: a decimal
// with optional sign, fraction and exponent, up to 38 significant digits.
func validNumber(s string) bool {
	i, digits := 0, 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	seenDot := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !seenDot:
			seenDot = true
		case c == 'e' || c == 'E':
			if digits == 0 {
				return false
			}
			j := i + 1
			if j < len(s) && (s[j] == '+' || s[j] == '-') {
				j++
			}
			if j == len(s) {
				return false
			}
			for ; j < len(s); j++ {
				if s[j] < '0' || s[j] > '9' {
					return false
				}
			}
			return digits <= 38
		default:
			return false
		}
	}
	return digits > 0 && digits <= 38
}
