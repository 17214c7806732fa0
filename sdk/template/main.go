// Command template is a starting point for a proctag plugin: copy this
// folder, rename it, change the handler. It tags every process with the
// language its process name suggests and with a team taken from its config.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o template.wasm .
package main

import (
	"errors"
	"strings"

	"github.com/proctag/proctag/sdk"
)

// main is never called: the module is a reactor, the host calls its exports.
func main() {}

// team is the value of the team tag, from the config; empty means no tag.
var team string

func init() {
	sdk.OnInit(configure)
	sdk.Handle(handle)
}

// configure takes the config, a team name such as "payments".
func configure(config []byte) error {
	t := strings.TrimSpace(string(config))
	if strings.ContainsAny(t, "\n\r\t") {
		return errors.New("config must be a single team name")
	}
	team = t
	return nil
}

// handle is the handler: it reads the process and fills in the result.
func handle(p *sdk.Process, out *sdk.Result) {
	if lang := language(p.ProcessName); lang != "" {
		out.SetTag("example.com/lang", lang)
	}
	if team != "" {
		out.SetTag("example.com/team", team)
	}
}

// language guesses a runtime from a process name.
func language(name string) string {
	switch {
	case name == "java":
		return "java"
	case strings.HasPrefix(name, "python"):
		return "python"
	case name == "node" || name == "nodejs":
		return "node"
	case name == "ruby":
		return "ruby"
	}
	return ""
}
