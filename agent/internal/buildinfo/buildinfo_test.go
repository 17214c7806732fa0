package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	const rev = "044eb46654288c604a3b29a3e2cb96fa14676a35"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-02T20:31:53Z"}, {Key: "vcs.modified", Value: modified},
		}}
	}
	tests := []struct {
		name                  string
		bi                    *debug.BuildInfo
		version, commit, date string
		want                  Info
	}{
		{name: "vcs stamped, clean", bi: vcs("false"),
			want: Info{Version: DevVersion, Commit: rev, Date: "2026-12-02T20:31:53Z", GoVersion: "go1.26.8"}},
		{name: "vcs stamped, dirty", bi: vcs("true"),
			want: Info{Version: DevVersion, Commit: rev + "-dirty", Date: "2026-12-02T20:31:53Z", GoVersion: "go1.26.8"}},
		{name: "ldflags win", bi: vcs("true"), version: "v1.2.3", commit: "abc", date: "2027-01-01T00:00:00Z",
			want: Info{Version: "v1.2.3", Commit: "abc", Date: "2027-01-01T00:00:00Z", GoVersion: "go1.26.8"}},
		{name: "go install of a release", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			want: Info{Version: "v1.4.0", Commit: "unknown", Date: "unknown", GoVersion: "go1.26.8"}},
		{name: "nothing known", bi: &debug.BuildInfo{GoVersion: "go1.26.8"},
			want: Info{Version: DevVersion, Commit: "unknown", Date: "unknown", GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(tt.bi, tt.version, tt.commit, tt.date); got != tt.want {
				t.Errorf("read() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestShortCommit(t *testing.T) {
	tests := []struct{ commit, want string }{
		{"044eb46654288c604a3b29a3e2cb96fa14676a35", "044eb4665428"},
		{"044eb46654288c604a3b29a3e2cb96fa14676a35-dirty", "044eb4665428-dirty"},
		{"abc", "abc"},
		{"unknown", "unknown"},
	}
	for _, tt := range tests {
		if got := (Info{Commit: tt.commit}).ShortCommit(); got != tt.want {
			t.Errorf("ShortCommit(%q) = %q, want %q", tt.commit, got, tt.want)
		}
	}
}
