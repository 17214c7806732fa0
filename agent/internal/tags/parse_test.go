package tags

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[int]Entry
		wantErr string
	}{
		{
			name: "deepflow docs format",
			in:   "- pid: 1\n  tags:\n  - key: app\n    value: billing\n- pid: 2\n  tags:\n  - key: env\n    value: prod\n  - key: team\n    value: pay\n",
			want: map[int]Entry{
				1: {Tags: []Tag{{"app", "billing"}}},
				2: {Tags: []Tag{{"env", "prod"}, {"team", "pay"}}},
			},
		},
		{
			name: "flow style",
			in:   `[{pid: 7, tags: [{key: a, value: b}]}]`,
			want: map[int]Entry{7: {Tags: []Tag{{"a", "b"}}}},
		},
		{
			name: "duplicate pid keeps the last entry",
			in:   "- {pid: 5, tags: [{key: a, value: first}]}\n- {pid: 5, tags: [{key: b, value: last}]}\n",
			want: map[int]Entry{5: {Tags: []Tag{{"b", "last"}}}},
		},
		{
			name: "empty tags list is still tagged",
			in:   "- pid: 9\n  tags: []\n",
			want: map[int]Entry{9: {Tags: []Tag{}}},
		},
		{
			name: "extra keys are ignored",
			in:   "- pid: 3\n  comment: [x, {y: z}]\n  tags:\n  - {key: k, value: v, note: ignored}\n",
			want: map[int]Entry{3: {Tags: []Tag{{"k", "v"}}}},
		},
		{
			name: "scalar values keep their text",
			in:   "- pid: 4\n  tags:\n  - {key: port, value: 8080}\n  - {key: on, value: true}\n  - {key: n, value: null}\n  - {key: e, value: }\n  - {key: 12, value: '007'}\n",
			want: map[int]Entry{4: {Tags: []Tag{{"port", "8080"}, {"on", "true"}, {"n", "null"}, {"e", "~"}, {"12", "007"}}}},
		},
		{
			name: "tags: [] is a tagged pid with no tags",
			in:   "- pid: 21\n  tags: []\n",
			want: map[int]Entry{21: {Tags: []Tag{}}},
		},
		{
			name: "key and value with no value are ~, as yaml-rust reads an empty value",
			in:   "- pid: 22\n  tags:\n  - key:\n    value:\n  - {key: a, value: }\n",
			want: map[int]Entry{22: {Tags: []Tag{{"~", "~"}, {"a", "~"}}}},
		},
		{
			name: "repeated tag keys are kept as given",
			in:   "- {pid: 6, tags: [{key: a, value: '1'}, {key: a, value: '2'}]}\n",
			want: map[int]Entry{6: {Tags: []Tag{{"a", "1"}, {"a", "2"}}}},
		},
		{
			name: "pid in hex octal binary and with plus",
			in:   "- {pid: 0x10, tags: []}\n- {pid: 0o10, tags: []}\n- {pid: 0b11, tags: []}\n- {pid: +42, tags: []}\n- {pid: !!int 77, tags: []}\n",
			want: map[int]Entry{16: {Tags: []Tag{}}, 8: {Tags: []Tag{}}, 3: {Tags: []Tag{}}, 42: {Tags: []Tag{}}, 77: {Tags: []Tag{}}},
		},
		{
			name: "list form of entry and tag as serde accepts for structs",
			in:   "- [11, [[app, web], [tier, front]]]\n",
			want: map[int]Entry{11: {Tags: []Tag{{"app", "web"}, {"tier", "front"}}}},
		},
		{
			name: "aliases are followed",
			in:   "- {pid: 1, tags: &t [{key: a, value: b}]}\n- {pid: 2, tags: *t}\n",
			want: map[int]Entry{1: {Tags: []Tag{{"a", "b"}}}, 2: {Tags: []Tag{{"a", "b"}}}},
		},
		{
			name: "pid too big for a process is accepted and dropped",
			in:   "- {pid: 18446744073709551615, tags: []}\n- {pid: 1, tags: []}\n",
			want: map[int]Entry{1: {Tags: []Tag{}}},
		},
		{name: "empty output is an empty list", in: "", want: map[int]Entry{}},
		{name: "comments only is an empty list", in: "# nothing to tag\n", want: map[int]Entry{}},
		{name: "lone null document is an empty list", in: "---\n", want: map[int]Entry{}},
		{name: "empty list", in: "[]\n", want: map[int]Entry{}},

		{name: "quoted pid", in: `[{pid: "12", tags: []}]`, wantErr: "quoted string"},
		{name: "negative pid", in: `[{pid: -3, tags: []}]`, wantErr: `pid "-3"`},
		{name: "float pid", in: `[{pid: 1.5, tags: []}]`, wantErr: `pid "1.5"`},
		{name: "leading zero pid is a string", in: `[{pid: 012, tags: []}]`, wantErr: `pid "012"`},
		{name: "null pid", in: `[{pid: ~, tags: []}]`, wantErr: `pid "~"`},
		{name: "pid over u64", in: `[{pid: 18446744073709551616, tags: []}]`, wantErr: "not a non-negative integer"},
		{name: "missing tags key", in: "- pid: 1\n", wantErr: "missing key tags"},
		{name: "null tags", in: "- pid: 1\n  tags: null\n", wantErr: "tags is null, not a list"},
		{name: "~ tags", in: "- pid: 1\n  tags: ~\n", wantErr: "tags is null, not a list"},
		{name: "tags with no value, ~ to yaml-rust", in: "- pid: 20\n  tags:\n- pid: 21\n  tags: []\n", wantErr: "tags is empty, not a list"},
		{name: "missing pid", in: "- tags: []\n", wantErr: "missing key pid"},
		{name: "missing value", in: "- {pid: 1, tags: [{key: a}]}\n", wantErr: "tag 0: line 1: missing key value"},
		{name: "duplicate key", in: "- {pid: 1, pid: 2, tags: []}\n", wantErr: "duplicate key pid"},
		{name: "mapping at top level", in: "pid: 1\ntags: []\n", wantErr: "not a list"},
		{name: "value is a list", in: "- {pid: 1, tags: [{key: a, value: [b]}]}\n", wantErr: "value is a list"},
		{name: "short list form", in: "- [1]\n", wantErr: "2 elements"},
		{name: "two documents", in: "- {pid: 1, tags: []}\n---\n- {pid: 2, tags: []}\n", wantErr: "more than one YAML document"},
		{name: "broken yaml", in: "- pid: 1\n tags: [\n", wantErr: "parse tag output"},
		{name: "text", in: "hello\n", wantErr: `"hello", not a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse() error = %v, want one containing %q", err, tt.wantErr)
				}
				if got != nil {
					t.Fatalf("Parse() = %v with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseAliasBudget(t *testing.T) {
	// 50 tags shared by 2000 entries: 100k tags out of 42 KB of YAML.
	shared := "- {pid: 1, tags: &t [" + strings.Repeat("{key: a, value: b}, ", 50) + "]}\n"
	bomb := shared + strings.Repeat("- {pid: 2, tags: *t}\n", 2000)
	if _, err := Parse([]byte(bomb)); err == nil || !strings.Contains(err.Error(), "aliases expand") {
		t.Fatalf("Parse() error = %v, want the alias budget error", err)
	}
	// Modest sharing stays well inside the budget.
	modest := shared + strings.Repeat("- {pid: 2, tags: *t}\n", 20)
	got, err := Parse([]byte(modest))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if len(got[2].Tags) != 50 {
		t.Fatalf("pid 2 has %d tags, want 50", len(got[2].Tags))
	}
}

func FuzzParse(f *testing.F) {
	// The documented format.
	f.Add([]byte("- pid: 1\n  tags:\n  - key: app\n    value: billing\n"))
	// Flow style with a duplicate pid.
	f.Add([]byte(`[{pid: 5, tags: []}, {pid: 5, tags: [{key: a, value: b}]}]`))
	// Every pid spelling serde accepts.
	f.Add([]byte("- {pid: 0x10, tags: []}\n- {pid: +0b1, tags: []}\n- {pid: !!int -0, tags: []}\n"))
	// Anchors and aliases.
	f.Add([]byte("- {pid: 1, tags: &t [{key: a, value: b}]}\n- {pid: 2, tags: *t}\n"))
	// Serde's list form.
	f.Add([]byte("- [11, [[app, web]]]\n"))
	// Two documents.
	f.Add([]byte("[]\n---\n[]\n"))
	// Broken YAML.
	f.Add([]byte("- pid: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data)
		if err != nil {
			if got != nil {
				t.Fatalf("Parse() = %v with error %v", got, err)
			}
			return
		}
		if got == nil {
			t.Fatal("Parse() = nil map without an error")
		}
		n := 0
		for pid, e := range got {
			if pid < 0 {
				t.Fatalf("negative pid %d", pid)
			}
			n += 1 + len(e.Tags)
		}
		if n > len(data)+1 {
			t.Fatalf("%d entries and tags from %d bytes", n, len(data))
		}
	})
}

// BenchmarkParse parses a 10k-pid output with three tags each (≈ 1 MB).
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	for pid := 1; pid <= 10000; pid++ {
		fmt.Fprintf(&sb, "- pid: %d\n  tags:\n  - key: app\n    value: svc-%d\n  - key: env\n    value: prod\n  - key: team\n    value: t%d\n", pid, pid%50, pid%7)
	}
	data := []byte(sb.String())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
