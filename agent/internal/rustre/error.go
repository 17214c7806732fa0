package rustre

import "strconv"

// Error is why Compile refused a pattern: either the Rust regex crate 1.8
// rejects it too (the DeepFlow agent skips such a rule), or the two
// engines would read it differently and proctag refuses it rather than
// match differently (see the package documentation for the list). Every
// error Compile returns is an *Error; test for it with errors.As.
type Error struct {
	// Pattern is the Rust pattern as given to Compile.
	Pattern string
	// Offset is the byte offset in Pattern where the translation stopped,
	// or -1 when Go's parser refused the translated pattern (Err is then
	// set) and no offset in Pattern is known.
	Offset int
	// Reason says what is wrong, in lower case, without the pattern.
	Reason string
	// Err is the *syntax.Error of Go's regexp parser when it refused the
	// translated pattern (for example a repetition count above 1000), nil
	// when the translation itself refused the pattern.
	Err error
}

// Error returns Reason, followed by " at offset N" when the offset is
// known. It leaves the pattern out: callers show it next to the message,
// quoted their own way.
func (e *Error) Error() string {
	if e.Offset < 0 {
		return e.Reason
	}
	return e.Reason + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns Err, the parser error of Go's regexp, or nil.
func (e *Error) Unwrap() error { return e.Err }
