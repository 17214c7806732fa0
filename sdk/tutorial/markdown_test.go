package tutorial_test

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// block is one fenced code block of a Markdown page.
type block struct {
	line   int    // line of the opening fence, 1-based
	marker string // the tutorial marker on the line before the fence, "" if none
	body   string // the lines between the fences, each ending in a newline
}

// step is a block with its marker parsed: what the tutorial test does with it.
type step struct {
	line int
	kind string // file, run, start or skip
	arg  string // file: the path; run: a check or ""; start: a name; skip: the reason
	body string
}

// markerRE matches a marker line; group 1 is what follows "tutorial:".
var markerRE = regexp.MustCompile(`^<!--\s*tutorial:(.*?)-->\s*$`)

// parseBlocks returns md's fenced code blocks (``` or ~~~, indented by up
// to three spaces, as CommonMark allows) with the marker line right before
// each. A marker that is not right before a block, and a block left open,
// are errors.
func parseBlocks(md string) ([]block, error) {
	var blocks []block
	var errs []string
	lines := strings.SplitAfter(md, "\n")
	pending, pendingLine := "", 0
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		fence, indent := openingFence(line)
		if fence == "" {
			if m := markerRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				if pending != "" {
					errs = append(errs, fmt.Sprintf("line %d: marker not followed by a code block", pendingLine))
				}
				pending, pendingLine = strings.TrimSpace(m[1]), i+1
				continue
			}
			if pending != "" {
				errs = append(errs, fmt.Sprintf("line %d: marker not followed by a code block", pendingLine))
				pending = ""
			}
			continue
		}
		b := block{line: i + 1, marker: pending}
		pending = ""
		var body strings.Builder
		closed := false
		for i++; i < len(lines); i++ {
			l := strings.TrimRight(lines[i], "\r\n")
			if t := strings.TrimLeft(l, " "); len(l)-len(t) < 4 && strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				closed = true
				break
			}
			for n := 0; n < indent && strings.HasPrefix(l, " "); n++ {
				l = l[1:]
			}
			body.WriteString(l)
			body.WriteByte('\n')
		}
		if !closed {
			errs = append(errs, fmt.Sprintf("line %d: code block is not closed", b.line))
			break
		}
		b.body = body.String()
		blocks = append(blocks, b)
	}
	if pending != "" {
		errs = append(errs, fmt.Sprintf("line %d: marker not followed by a code block", pendingLine))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return blocks, nil
}

// openingFence returns the fence (three or more backticks or tildes) that
// line opens and its indentation, or "" when line opens no block.
func openingFence(line string) (fence string, indent int) {
	t := strings.TrimLeft(line, " ")
	indent = len(line) - len(t)
	if indent > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return "", 0
	}
	n := len(t) - len(strings.TrimLeft(t, t[:1]))
	if n < 3 || (t[0] == '`' && strings.Contains(t[n:], "`")) {
		return "", 0
	}
	return t[:n], indent
}

// parseSteps returns the tutorial steps of md: every fenced block must have
// a valid marker.
func parseSteps(md string) ([]step, error) {
	blocks, err := parseBlocks(md)
	if err != nil {
		return nil, err
	}
	var steps []step
	var errs []string
	for _, b := range blocks {
		s, err := parseMarker(b)
		if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", b.line, err))
			continue
		}
		steps = append(steps, s)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return steps, nil
}

// wordRE is a check's or a start block's name.
var wordRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// parseMarker checks b's marker and returns its step.
func parseMarker(b block) (step, error) {
	if b.marker == "" {
		return step{}, fmt.Errorf("code block has no <!-- tutorial: file PATH | run [CHECK] | start NAME | skip REASON --> marker before it")
	}
	kind, arg, _ := strings.Cut(b.marker, " ")
	arg = strings.TrimSpace(arg)
	s := step{line: b.line, kind: kind, arg: arg, body: b.body}
	switch kind {
	case "file":
		if arg == "" || path.IsAbs(arg) || path.Clean(arg) != arg || strings.HasPrefix(arg, "../") || arg == ".." {
			return s, fmt.Errorf("tutorial: file %q: want a relative path below the current directory", arg)
		}
	case "run":
		if arg != "" && !wordRE.MatchString(arg) {
			return s, fmt.Errorf("tutorial: run %q: a check is one lower-case word", arg)
		}
	case "start":
		if !wordRE.MatchString(arg) {
			return s, fmt.Errorf("tutorial: start %q: want one lower-case word naming the process", arg)
		}
	case "skip":
		if arg == "" {
			return s, fmt.Errorf("tutorial: skip: say why the block is not run")
		}
	default:
		return s, fmt.Errorf("tutorial: %q is not file, run, start or skip", kind)
	}
	return s, nil
}

func TestParseSteps(t *testing.T) {
	tests := []struct {
		name    string
		md      string
		want    []step
		wantErr string
	}{
		{
			name: "each kind",
			md: "# T\n\n<!-- tutorial: file a/main.go -->\n```go\npackage main\n```\n\ntext\n" +
				"<!-- tutorial: run -->\n```sh\ncd a\n```\n<!-- tutorial: run watch -->\n```\nproctag watch\n```\n" +
				"<!-- tutorial: start agent -->\n~~~sh\nproctag run\n~~~\n<!-- tutorial: skip sample output -->\n````\n```\n````\n",
			want: []step{
				{4, "file", "a/main.go", "package main\n"},
				{10, "run", "", "cd a\n"},
				{14, "run", "watch", "proctag watch\n"},
				{18, "start", "agent", "proctag run\n"},
				{22, "skip", "sample output", "```\n"},
			},
		},
		{
			name: "indented block in a list item",
			md:   "1. Run:\n\n   <!-- tutorial: run -->\n   ```sh\n   go test\n     go vet\n   ```\n",
			want: []step{{4, "run", "", "go test\n  go vet\n"}},
		},
		{name: "no blocks", md: "just text, `code`, ``` inline ``` spans\n"},
		{name: "unmarked block", md: "```sh\nrm -rf /\n```\n", wantErr: "line 1: code block has no"},
		{name: "marker then text", md: "<!-- tutorial: run -->\ntext\n```\nx\n```\n", wantErr: "line 1: marker not followed"},
		{name: "marker at the end", md: "<!-- tutorial: run -->\n", wantErr: "line 1: marker not followed"},
		{name: "open block", md: "<!-- tutorial: run -->\n```\nx\n", wantErr: "line 2: code block is not closed"},
		{name: "unknown kind", md: "<!-- tutorial: exec -->\n```\nx\n```\n", wantErr: `"exec" is not file`},
		{name: "file outside", md: "<!-- tutorial: file ../x -->\n```\nx\n```\n", wantErr: "relative path"},
		{name: "skip without reason", md: "<!-- tutorial: skip -->\n```\nx\n```\n", wantErr: "say why"},
		{name: "start without name", md: "<!-- tutorial: start -->\n```\nx\n```\n", wantErr: "naming the process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSteps(tt.md)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("steps = %+v\nwant    %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseSteps(f *testing.F) {
	// a page with every kind of marker
	f.Add("<!-- tutorial: file a.go -->\n```go\npackage a\n```\n<!-- tutorial: run x -->\n~~~\nls\n~~~\n<!-- tutorial: skip s -->\n```\n```\n")
	// a block that is never closed
	f.Add("<!-- tutorial: run -->\n```\nopen\n")
	// a marker with nothing after it
	f.Add("<!-- tutorial: start a -->")
	// fences of different lengths and characters nested
	f.Add("````\n```\n~~~\n````\n")
	// an indented fence with CRLF line ends
	f.Add("   <!-- tutorial: run -->\r\n   ```\r\n   x\r\n   ```\r\n")
	f.Fuzz(func(t *testing.T, md string) {
		steps, err := parseSteps(md)
		if err != nil {
			return
		}
		for _, s := range steps {
			if s.kind != "file" && s.kind != "run" && s.kind != "start" && s.kind != "skip" {
				t.Fatalf("step of kind %q accepted", s.kind)
			}
			if s.line < 1 || s.line > strings.Count(md, "\n")+1 {
				t.Fatalf("step at line %d of a %d-line page", s.line, strings.Count(md, "\n")+1)
			}
		}
	})
}
