package wireconf

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestReaderImportsOnlyWhatWIREmdAllows: the reader is written from WIRE.md
// alone, so its files import the standard library, nats.go and zstd, and
// nothing of proctag's.
func TestReaderImportsOnlyWhatWIREmdAllows(t *testing.T) {
	allowed := map[string]bool{"github.com/nats-io/nats.go": true, "github.com/klauspost/compress/zstd": true}
	for _, file := range []string{"reader_test.go", "order_test.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if !allowed[path] && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: only the standard library, nats.go and zstd", file, path)
			}
		}
	}
}
