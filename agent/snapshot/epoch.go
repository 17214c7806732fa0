package snapshot

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// An epoch names one run of an agent: 16 lower-case hex digits of the
// agent's start time in nanoseconds since the Unix epoch, '-', and 8
// lower-case hex random digits, e.g. "18eb6c653165060d-7e194abb". It is one
// NATS subject token. Because the time comes first with a fixed width,
// epochs compare as plain strings in start-time order; the random part only
// separates two starts in the same nanosecond.
const (
	epochTimeDigits = 16
	epochRandDigits = 8
	epochLen        = epochTimeDigits + 1 + epochRandDigits
)

// NewEpoch returns a fresh epoch for an agent that started at start (a time
// before 1970 counts as 1970). Later starts give epochs that compare
// greater; see CompareEpochs.
func NewEpoch(start time.Time) string {
	ns := max(start.UnixNano(), 0)
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on Linux
	return fmt.Sprintf("%016x-%08x", uint64(ns), binary.BigEndian.Uint32(r[:]))
}

// ValidEpoch reports whether s has the epoch format NewEpoch produces.
func ValidEpoch(s string) bool {
	if len(s) != epochLen || s[epochTimeDigits] != '-' {
		return false
	}
	for i := range len(s) {
		if i == epochTimeDigits {
			continue
		}
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ParseEpoch checks an epoch and returns the agent start time it carries.
// Errors wrap ErrMalformed.
func ParseEpoch(s string) (time.Time, error) {
	if !ValidEpoch(s) {
		return time.Time{}, fmt.Errorf("%w: epoch %q is not 16 hex digits of a start time, '-', 8 hex digits", ErrMalformed, s)
	}
	ns, err := strconv.ParseUint(s[:epochTimeDigits], 16, 64)
	if err != nil || ns > 1<<63-1 {
		return time.Time{}, fmt.Errorf("%w: epoch %q: start time out of range", ErrMalformed, s)
	}
	return time.Unix(0, int64(ns)).UTC(), nil
}

// CompareEpochs orders two valid epochs by the agent start time they carry,
// then by their random part: -1 when a is older than b, +1 when newer, 0
// when equal. A subscriber follows a host's newest epoch; see WIRE.md,
// "Trust".
func CompareEpochs(a, b string) int {
	return strings.Compare(a, b)
}
