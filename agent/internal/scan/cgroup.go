package scan

import (
	"strings"
)

// ContainerID finds the container a process runs in from the content of
// /proc/PID/cgroup (man 7 cgroups: "hierarchy-ID:controller-list:path"
// lines, cgroup v2 as "0::/path"). It returns the 64-hex-digit id and the
// cgroup path it came from, or "", "" for a process outside containers.
//
// Lines are tried in file order and the first path carrying an id wins.
// Within a path the elements are tried from the last one up, and an
// element is an id when it is 64 lower-case hex digits (Docker and
// Kubernetes cgroupfs layouts: /docker/ID, /kubepods/burstable/podUID/ID)
// or PREFIX-ID.scope (systemd layouts: docker-, cri-containerd-, crio-,
// libpod-, in kubepods.slice or machine.slice). A conmon scope
// (libpod-conmon-ID.scope, crio-conmon-ID.scope) is the container
// monitor, not the container, and ends the search of that path.
//
// DeepFlow v6.5 looks only at the last element of the first v2 line or of
// the first pids/cpuset/devices/memory/cpu line and accepts any 64
// characters; this finds the same ids where DeepFlow finds one, and also
// podman's nested ".../libpod-ID.scope/container" and hybrid hosts whose
// first such line has no id. The id and path are substrings of
// cgroupFile.
func ContainerID(cgroupFile string) (id, path string) {
	for len(cgroupFile) > 0 {
		var line string
		if i := strings.IndexByte(cgroupFile, '\n'); i >= 0 {
			line, cgroupFile = cgroupFile[:i], cgroupFile[i+1:]
		} else {
			line, cgroupFile = cgroupFile, ""
		}
		// hierarchy-ID:controllers:path; the path may itself contain ':'.
		_, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		_, p, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id := idInPath(p); id != "" {
			return id, p
		}
	}
	return "", ""
}

func idInPath(p string) string {
	for len(p) > 0 {
		i := strings.LastIndexByte(p, '/')
		elem := p[i+1:]
		if i < 0 {
			p = ""
		} else {
			p = p[:i]
		}
		if isHex64(elem) {
			return elem
		}
		scope, ok := strings.CutSuffix(elem, ".scope")
		if !ok || len(scope) < 65 || scope[len(scope)-65] != '-' {
			continue
		}
		if strings.Contains(scope[:len(scope)-65], "conmon") {
			return ""
		}
		if id := scope[len(scope)-64:]; isHex64(id) {
			return id
		}
	}
	return ""
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
