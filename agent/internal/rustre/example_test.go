package rustre_test

import (
	"errors"
	"fmt"

	"github.com/proctag/proctag/agent/internal/rustre"
)

// The os-proc-regex documentation's example: a cmdline rewrite with a
// Rust template, every match replaced and the rest kept.
func ExampleRegexp_ReplaceAllString() {
	re, err := rustre.Compile(`python3 (.*)\.py`)
	if err != nil {
		panic(err)
	}
	fmt.Println(re.ReplaceAllString("python3 /srv/app/billing.py --port 80", "$1-py-script"))
	// Output: /srv/app/billing-py-script --port 80
}

// \w is Unicode, as in Rust; look-around is refused with an *Error.
func ExampleCompile() {
	re, _ := rustre.Compile(`^\w+$`)
	fmt.Println(re.MatchString("naïve"))

	_, err := rustre.Compile(`foo(?=bar)`)
	if e, ok := errors.AsType[*rustre.Error](err); ok {
		fmt.Printf("%q: %s (offset %d)\n", e.Pattern, e.Reason, e.Offset)
	}
	// Output:
	// true
	// "foo(?=bar)": look-around is not supported (offset 3)
}
