package tutorial_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// command is a proctag or make command line a page shows, in a code block
// or an inline code span.
type command struct {
	where string // page:line or page (inline)
	text  string
}

var (
	// spanRE matches an inline code span; spans may wrap over lines.
	spanRE = regexp.MustCompile("`([^`]+)`")
	// flagRE matches a long flag.
	flagRE = regexp.MustCompile(`(?:^|[\s\[|])--([a-z][a-z0-9-]*)`)
	// shellOpRE splits a line into simple commands at &&, ||, a pipe and
	// ; (a table cell's `\|` is no pipe).
	shellOpRE = regexp.MustCompile(`\s+(?:&&|\|\||\|)\s+|;\s*`)
	// commentRE matches a shell comment at the end of a line.
	commentRE = regexp.MustCompile(`(^|\s)#.*$`)
)

// pageCommands returns the proctag and make commands of a page: each line
// of its code blocks (continuation lines joined, comments dropped) and each
// inline code span of its text that starts with proctag, bin/proctag or
// make.
func pageCommands(name, md string) ([]command, error) {
	blocks, err := parseBlocks(md)
	if err != nil {
		return nil, err
	}
	var cmds []command
	keep := func(where, text string) {
		for _, part := range shellOpRE.Split(text, -1) {
			words := strings.Fields(part)
			for len(words) > 0 && (words[0] == "sudo" || strings.Contains(words[0], "=")) {
				words = words[1:] // sudo, VAR=value
			}
			if len(words) > 0 && (words[0] == "proctag" || words[0] == "bin/proctag" || words[0] == "make") {
				cmds = append(cmds, command{where, strings.Join(words, " ")})
			}
		}
	}
	for _, b := range blocks {
		lines := strings.Split(b.body, "\n")
		for i := 0; i < len(lines); i++ {
			line, n := lines[i], i
			for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
				i++
				line = strings.TrimSuffix(line, `\`) + " " + lines[i]
			}
			keep(fmt.Sprintf("%s:%d", name, b.line+1+n), commentRE.ReplaceAllString(line, ""))
		}
	}
	for _, m := range spanRE.FindAllStringSubmatch(prose(md), -1) {
		keep(name+" (inline)", m[1])
	}
	return cmds, nil
}

// prose is md without its fenced code blocks.
func prose(md string) string {
	var b strings.Builder
	fence := ""
	for line := range strings.Lines(md) {
		t := strings.TrimRight(line, "\r\n")
		switch {
		case fence == "":
			if f, _ := openingFence(t); f != "" {
				fence = f
				continue
			}
			b.WriteString(line)
		case strings.HasPrefix(strings.TrimLeft(t, " "), fence) && strings.Trim(strings.TrimSpace(t), fence[:1]) == "":
			fence = ""
		}
	}
	return b.String()
}

// TestREADMECommands checks every proctag and make command that README.md
// and sdk/README.md show, including those CI cannot run (a real host's
// paths, `make run`): each proctag subcommand exists and takes every long
// flag shown, each make target of the top-level Makefile exists.
func TestREADMECommands(t *testing.T) {
	root := repoRoot(t)
	var cmds []command
	for _, page := range []string{"README.md", "sdk/README.md"} {
		md, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		c, err := pageCommands(page, string(md))
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		cmds = append(cmds, c...)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	bin := proctagBinary(t)
	help := map[string]string{} // subcommand path -> its --help
	var proctagCmds, makeCmds int
	for _, c := range cmds {
		words := strings.Fields(c.text)
		if words[0] == "make" {
			makeCmds++
			checkMake(t, c, words[1:], string(makefile))
			continue
		}
		proctagCmds++
		var path []string
		for _, w := range words[1:] {
			if !regexp.MustCompile(`^[a-z]+$`).MatchString(w) {
				break
			}
			path = append(path, w)
		}
		key := strings.Join(path, " ")
		out, ok := help[key]
		if !ok {
			b, err := exec.Command(bin, append(slices.Clone(path), "--help")...).CombinedOutput()
			if err != nil {
				t.Errorf("%s: `%s`: proctag %s --help: %v\n%s", c.where, c.text, key, err, b)
				continue
			}
			out = string(b)
			help[key] = out
		}
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(strings.Join(append([]string{"proctag"}, path...), " ")) + `(\s|$)`).MatchString(out) {
			t.Errorf("%s: `%s`: proctag has no command %q", c.where, c.text, key)
			continue
		}
		for _, m := range flagRE.FindAllStringSubmatch(c.text, -1) {
			if !regexp.MustCompile(`--` + regexp.QuoteMeta(m[1]) + `(\s|$)`).MatchString(out) {
				t.Errorf("%s: `%s`: proctag %s has no flag --%s", c.where, c.text, key, m[1])
			}
		}
	}
	if proctagCmds == 0 || makeCmds == 0 {
		t.Errorf("found %d proctag and %d make commands in the pages: the extraction is broken", proctagCmds, makeCmds)
	}
}

// checkMake checks that the targets of a make command shown in c exist in
// the top-level Makefile. A make -C DIR of another directory is skipped:
// plugins/Makefile's targets are its folders.
func checkMake(t *testing.T, c command, args []string, makefile string) {
	t.Helper()
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-C" && i+1 < len(args):
			if dir := args[i+1]; dir != `"$PROCTAG"` && dir != "." {
				return
			}
			i++
		case strings.HasPrefix(a, "-") || strings.Contains(a, "="):
		default:
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(a) + `:`).MatchString(makefile) {
				t.Errorf("%s: `%s`: the Makefile has no target %q", c.where, c.text, a)
			}
		}
	}
}

func TestPageCommands(t *testing.T) {
	md := "Run `proctag\nplugin test` or `make bench`; `make` alone, `go test`, `proctag x [--a N \\| --b M]`.\n\n" +
		"```sh\n$ ignored\nbin/proctag watch --once   # a comment\nproctag plugin test a.wasm \\\n    --config a.yaml\nmake run CONFIG=x.yaml\n" +
		"make build && sudo make install; X=1 proctag scan | less\n```\n" +
		"```yaml\nkey: value  # `proctag run` in a comment\n```\n"
	got, err := pageCommands("P", md)
	if err != nil {
		t.Fatal(err)
	}
	want := []command{
		{"P:6", "bin/proctag watch --once"},
		{"P:7", "proctag plugin test a.wasm --config a.yaml"},
		{"P:9", "make run CONFIG=x.yaml"},
		{"P:10", "make build"},
		{"P:10", "make install"},
		{"P:10", "proctag scan"},
		{"P (inline)", "proctag plugin test"},
		{"P (inline)", "make bench"},
		{"P (inline)", "make"},
		{"P (inline)", `proctag x [--a N \| --b M]`},
	}
	if !slices.Equal(got, want) {
		t.Errorf("commands = %q\nwant       %q", got, want)
	}
}
