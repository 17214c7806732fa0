//go:build !wasip1

package sdk

import (
	"io"
	"os"
	"sync"
)

var (
	logMu  sync.Mutex
	logOut io.Writer = os.Stderr
)

// SetLogOutput sets where Log writes when the plugin runs natively (tests),
// one "level: message" line per call. It does not exist in a wasm build,
// where Log always goes to the host.
func SetLogOutput(w io.Writer) {
	logMu.Lock()
	defer logMu.Unlock()
	logOut = w
}

func hostLog(level Level, msg string) {
	logMu.Lock()
	defer logMu.Unlock()
	io.WriteString(logOut, level.String()+": "+msg+"\n")
}
