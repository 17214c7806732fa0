// Command jvm-name is a proctag plugin that names interpreter and JVM
// processes after what they run instead of "java", "python3" or "node":
//
//	java -Xmx1g -jar /srv/billing.jar          -> billing
//	java -cp lib/* org.acme.billing.Main        -> Main (or org.acme.billing.Main with config "full")
//	java -m acme.billing/org.acme.billing.Main  -> Main
//	python3 -u /srv/app/worker.py --queue x     -> worker
//	python3 -m celery worker                    -> celery
//	node --require dotenv/config server.js      -> server
//	node /srv/billing/index.js                  -> billing (index, main, app, server take their folder's name)
//
// Processes it cannot name (another program, `python -c`, `node -e`, a bare
// REPL) are left unchanged. It needs the rename capability and the fields
// process_name and cmdline (which grants argv).
package main

import (
	"errors"
	"strings"

	"github.com/proctag/proctag/sdk"
)

func main() {}

// fullClassName keeps a Java main class's package (config "full").
var fullClassName bool

func init() {
	sdk.OnInit(configure)
	sdk.Handle(handle)
}

// configure accepts an empty config or "full" (name Java processes by the
// fully qualified main class).
func configure(config []byte) error {
	switch c := strings.TrimSpace(string(config)); c {
	case "":
		fullClassName = false
	case "full":
		fullClassName = true
	default:
		return errors.New(`config must be empty or "full", not ` + quote(c))
	}
	return nil
}

func handle(p *sdk.Process, out *sdk.Result) {
	if len(p.Argv) < 2 {
		return
	}
	var name string
	switch runtimeOf(p.ProcessName) {
	case "java":
		name = javaName(p.Argv[1:], fullClassName)
	case "python":
		name = pythonName(p.Argv[1:])
	case "node":
		name = nodeName(p.Argv[1:])
	}
	if name != "" && name != p.Name {
		out.Rename(name)
	}
}

// runtimeOf maps a process name to the runtime whose command line it knows.
func runtimeOf(processName string) string {
	switch {
	case processName == "java" || processName == "javaw":
		return "java"
	case processName == "python" || strings.HasPrefix(processName, "python2") || strings.HasPrefix(processName, "python3"):
		return "python"
	case processName == "node" || processName == "nodejs":
		return "node"
	}
	return ""
}

// quote puts s in double quotes, without strconv's escaping: enough for an
// init error message.
func quote(s string) string { return `"` + s + `"` }

// base returns the last element of a slash-separated path.
func base(path string) string {
	path = strings.TrimRight(path, "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
