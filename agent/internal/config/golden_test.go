package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and the README's configuration reference")

// repoRoot is the module root, where testdata/config and README.md live.
const repoRoot = "../../.."

// errorLines flattens a joined error to one problem per line.
func errorLines(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range unjoin(err) {
		if _, ok := errors.AsType[*Error](e); !ok {
			t.Errorf("error %v is a %T, not a *config.Error", e, e)
		}
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

// unjoin returns the errors inside an errors.Join, or err itself.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestBadConfigs parses every testdata/config/bad/*.yaml and compares all
// its errors, one per line, with the .golden file beside it.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata/config/bad/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs found: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _, err := Parse(data, "testdata/config/bad/"+name)
			if err == nil {
				t.Fatalf("Parse accepted a bad config: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config along with an error")
			}
			got := errorLines(t, err)
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

const (
	refBegin = "<!-- config-reference:begin -->\n"
	refEnd   = "<!-- config-reference:end -->"
)

// TestReadmeReference checks that the README's configuration reference is
// the one generated from the key registry; -update rewrites that block only.
func TestReadmeReference(t *testing.T) {
	path := filepath.Join(repoRoot, "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	begin := strings.Index(readme, refBegin)
	end := strings.Index(readme, refEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the %q ... %q markers in order", refBegin, refEnd)
	}
	begin += len(refBegin)
	want := reference()
	if readme[begin:end] == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:begin]+want+readme[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md configuration reference is stale; run go test ./agent/internal/config -update")
}
