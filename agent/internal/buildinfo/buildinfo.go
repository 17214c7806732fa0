package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set at link time with -ldflags "-X <package>.version=v1.2.3" (and commit,
// date); empty means: from the build info.
var (
	version string
	commit  string
	date    string
)

// DevVersion is the version of a build that says nothing better: no
// -ldflags, no module version (a plain `go build` in a checkout).
const DevVersion = "0.0.0-dev"

// Info describes the running build. Every field is set; unknown values are
// DevVersion or "unknown".
type Info struct {
	// Version is the release, e.g. "v1.2.3" or git describe's
	// "v1.2.3-4-gabcdef0-dirty".
	Version string
	// Commit is the full VCS revision, with "-dirty" when the tree had
	// uncommitted changes; "unknown" when the build did not record it.
	Commit string
	// Date is when it was built (RFC 3339) when the link set it, else the
	// commit's time; "unknown" when neither is known.
	Date string
	// GoVersion is the toolchain, e.g. "go1.26.8".
	GoVersion string
}

// Read returns the running binary's Info. It is cheap enough to call per
// use and safe for concurrent use.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return read(bi, version, commit, date)
}

// read is Read with the build info and the link-time values as parameters.
func read(bi *debug.BuildInfo, version, commit, date string) Info {
	info := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	var rev, modified, vcsTime string
	if bi != nil {
		info.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			case "vcs.time":
				vcsTime = s.Value
			}
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
	}
	if info.Version == "" {
		info.Version = DevVersion
	}
	if info.Commit == "" && rev != "" {
		info.Commit = rev
		if modified == "true" {
			info.Commit += "-dirty"
		}
	}
	if info.Date == "" {
		info.Date = vcsTime
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// ShortCommit is Commit cut to 12 hex digits (keeping "-dirty"), for one
// line of text.
func (i Info) ShortCommit() string {
	c, dirty := i.Commit, ""
	if n := len(c) - len("-dirty"); n > 0 && c[n:] == "-dirty" {
		c, dirty = c[:n], "-dirty"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	return c + dirty
}
