package sandbox

import (
	"errors"
	"fmt"
)

// FaultKind classifies why a plugin call or load went wrong.
type FaultKind int

const (
	// FaultTrap: the guest trapped (unreachable, out-of-bounds access, a Go
	// panic ending in proc_exit) during a call.
	FaultTrap FaultKind = iota
	// FaultTimeout: a call ran past the plugin's timeout and was stopped.
	FaultTimeout
	// FaultMemory: the guest tried to grow its memory past the cap or the
	// module's maximum, or used up its call stack (max-stack-size).
	FaultMemory
	// FaultBadOutput: the output was not a valid encoding, pointed outside
	// guest memory, was too large, or the guest returned an error code.
	FaultBadOutput
	// FaultInit: an instance could not be started (instantiate,
	// proctag_abi_version or proctag_init failed).
	FaultInit
	// FaultLoad: the module was refused at load: unreadable, corrupt, wrong
	// sha256, missing or mistyped exports, foreign imports, wrong ABI major,
	// over a plugin limit.
	FaultLoad
	// FaultGrant: the output was refused for leaving the grant (a
	// *Violation): ABI.md counts it as a fault like any other.
	FaultGrant
	// NumFaultKinds is the number of kinds, for arrays indexed by
	// FaultKind; it is not a kind.
	NumFaultKinds
)

var faultNames = [NumFaultKinds]string{"trap", "timeout", "memory", "bad_output", "init", "load", "grant"}

// String returns the snake_case name used in logs and stats.
func (k FaultKind) String() string {
	if k < 0 || k >= NumFaultKinds {
		return "unknown"
	}
	return faultNames[k]
}

// Fault is a plugin failure: a load refusal or a failed call. A call's
// fault discards the instance that made it; the plugin step keeps the
// process's previous result.
type Fault struct {
	// Plugin is the plugin's name.
	Plugin string
	// Kind classifies the fault, for counting.
	Kind FaultKind
	// Err is the cause.
	Err error
}

// Error returns "plugin NAME: KIND: cause".
func (f *Fault) Error() string {
	return fmt.Sprintf("plugin %s: %s: %v", f.Plugin, f.Kind, f.Err)
}

// Unwrap returns the cause.
func (f *Fault) Unwrap() error { return f.Err }

// Violation is an output outside the plugin's grant (a capability it does
// not have, a tag key outside its prefix, an invalid key or value). The
// whole output is rejected and the process keeps its previous result.
type Violation struct {
	// Plugin is the plugin's name.
	Plugin string
	// Reason names the first thing the grant does not allow.
	Reason string
}

// Error returns "plugin NAME: grant violation: reason".
func (v *Violation) Error() string {
	return fmt.Sprintf("plugin %s: grant violation: %s", v.Plugin, v.Reason)
}

// ErrNotGranted is wrapped by errors that report an output the grant does
// not allow; see Violation for the details.
var ErrNotGranted = errors.New("not granted")

// Is lets errors.Is(err, ErrNotGranted) match a Violation.
func (v *Violation) Is(target error) bool { return target == ErrNotGranted }

func loadFault(name string, format string, args ...any) error {
	return &Fault{Plugin: name, Kind: FaultLoad, Err: fmt.Errorf(format, args...)}
}
