package main

import "strings"

// pythonValueOptions are the CPython options that take the next argument
// (python3 --help). -c (inline code) ends naming.
var pythonValueOptions = map[string]bool{"-W": true, "-X": true, "--check-hash-based-pycs": true}

// pythonName names a Python process: the module of -m, else the script's
// file name without ".py". Combined flags (-uB) and options with attached
// values (-Wignore) are single tokens.
func pythonName(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-m":
			if i+1 < len(args) {
				return base(args[i+1])
			}
			return ""
		case strings.HasPrefix(a, "-m") && len(a) > 2:
			return base(a[2:])
		case strings.HasPrefix(a, "-c"):
			return ""
		case pythonValueOptions[a]:
			i++
		case a == "-" || a == "--":
			return ""
		case strings.HasPrefix(a, "-"):
		default:
			return scriptName(a, ".py")
		}
	}
	return ""
}

// nodeValueOptions are the node options that take the next argument when
// not written as --opt=value.
var nodeValueOptions = map[string]bool{
	"-r": true, "--require": true, "--import": true, "--loader": true,
	"--experimental-loader": true, "-C": true, "--conditions": true,
	"--env-file": true, "--title": true, "--inspect-port": true,
}

// nodeName names a Node.js process after its script: the file name without
// its extension, or the folder's name for an index, main, app or server
// file. -e, -p and a REPL give no name.
func nodeName(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-e" || a == "--eval" || a == "-p" || a == "--print" || a == "-i" || a == "--interactive":
			return ""
		case nodeValueOptions[a]:
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return scriptName(a, ".js", ".mjs", ".cjs", ".ts")
		}
	}
	return ""
}

// scriptName is the script's file name without the first matching
// extension; a generic entry point (index, main, app, server, __main__)
// takes the name of its folder, when it has one.
func scriptName(path string, exts ...string) string {
	name := base(path)
	for _, e := range exts {
		if n, ok := strings.CutSuffix(name, e); ok {
			name = n
			break
		}
	}
	switch name {
	case "index", "main", "app", "server", "__main__":
		dir := strings.TrimRight(path, "/")
		if i := strings.LastIndexByte(dir, '/'); i > 0 {
			if d := base(dir[:i]); d != "" && d != "." && d != ".." && d != "bin" && d != "src" {
				return d
			}
		}
	}
	return name
}
