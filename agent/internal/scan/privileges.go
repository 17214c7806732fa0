package scan

import (
	"github.com/proctag/proctag/agent/internal/caps"
)

// Needed are the capabilities a non-root agent needs to see every
// process's files: procfs checks exe, fd/*, root, ns/net and environ like
// ptrace(2) does (CAP_SYS_PTRACE), and fd/ and environ are mode 0500/0400
// of the process's owner (CAP_DAC_READ_SEARCH). Without them the agent
// still reads every process's stat and cmdline, and all of its own user's
// files.
var Needed = caps.Of(caps.SysPtrace, caps.DACReadSearch)

// The notices Unseen gives, one per missing combination; constant, so
// that a log search finds them.
const (
	unseenBoth    = "running without CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: other users' sockets, exe links, network namespaces, container user names and environments are not visible"
	unseenPtrace  = "running without CAP_SYS_PTRACE: other users' sockets, exe links, network namespaces and container user names are not visible"
	unseenDACRead = "running without CAP_DAC_READ_SEARCH: other users' sockets and environments are not visible"
)

// Unseen says what a scan of the real /proc cannot see with the effective
// capabilities have: msg is one constant sentence for the agent to log
// once at start, "" when nothing is missing; missing lists the
// capabilities to grant.
func Unseen(have caps.Set) (msg string, missing []caps.Cap) {
	missing = have.Missing(caps.SysPtrace, caps.DACReadSearch)
	ptrace, dac := have.Has(caps.SysPtrace), have.Has(caps.DACReadSearch)
	switch {
	case ptrace && dac:
		return "", nil
	case !ptrace && !dac:
		return unseenBoth, missing
	case !ptrace:
		return unseenPtrace, missing
	default:
		return unseenDACRead, missing
	}
}

// privileged reports whether the agent has the capabilities in Needed, so
// that files it still cannot read are the kernel's choice (another user
// namespace, a sandboxed init), not a missing grant.
func privileged() bool {
	s, err := caps.Current()
	return err == nil && s.Effective&Needed == Needed
}
