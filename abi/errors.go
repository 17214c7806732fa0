package abi

import (
	"errors"
	"strconv"
)

// Sentinel errors for malformed input; every decoding error wraps exactly one
// of them (possibly through nested *DecodeError values), so callers branch
// with errors.Is.
var (
	// ErrTruncated means the input ended inside a varint, a length or a
	// field's bytes.
	ErrTruncated = errors.New("truncated")
	// ErrOverflow means a varint is longer than 10 bytes, does not fit in
	// 64 bits, or an integer does not fit the Go type it decodes into.
	ErrOverflow = errors.New("overflow")
	// ErrMalformed means the framing is readable but wrong: field id 0, an
	// integer field whose varint does not fill its length exactly, a batch
	// result entry without an index.
	ErrMalformed = errors.New("malformed")
	// ErrTooMany means a Result sets or removes more than MaxTagsPerResult
	// tags; decoding stops there, so a huge output costs the host no more
	// than a valid one.
	ErrTooMany = errors.New("too many tags")
)

// DecodeError says where a message failed to decode. It wraps one of the
// sentinel errors.
type DecodeError struct {
	// Message is the kind of message: "record", "result", "batch",
	// "batch result", "tag".
	Message string
	// Field is the id of the field being read, 0 when the framing of the
	// field itself was bad.
	Field uint64
	// Offset is the byte offset in the input where the bad part starts.
	Offset int
	// Err is the sentinel (ErrTruncated, ErrOverflow, ErrMalformed,
	// ErrTooMany) or,
	// when a nested message failed, that message's *DecodeError, which
	// wraps the sentinel in turn.
	Err error
}

// Error renders as e.g. `decode record field 4 at offset 12: truncated`.
func (e *DecodeError) Error() string {
	s := "decode " + e.Message
	if e.Field != 0 {
		s += " field " + strconv.FormatUint(e.Field, 10)
	}
	return s + " at offset " + strconv.Itoa(e.Offset) + ": " + e.Err.Error()
}

// Unwrap returns the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErr(msg string, field uint64, off int, err error) error {
	return &DecodeError{Message: msg, Field: field, Offset: off, Err: err}
}
