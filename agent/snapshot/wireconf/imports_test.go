package wireconf

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestReaderImportsOnlyWhatWIREmdAllows: the reader is written from WIRE.md
// alone, so it imports the standard library, nats.go and zstd, and nothing
// of proctag's.
func TestReaderImportsOnlyWhatWIREmdAllows(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "reader_test.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"github.com/nats-io/nats.go": true, "github.com/klauspost/compress/zstd": true}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		first, _, _ := strings.Cut(path, "/")
		if !allowed[path] && strings.Contains(first, ".") {
			t.Errorf("reader_test.go imports %s: only the standard library, nats.go and zstd", path)
		}
	}
}
