package scan

import (
	"bytes"
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
// first such line has no id.
func ContainerID(cgroupFile []byte) (id, path string) {
	for len(cgroupFile) > 0 {
		var line []byte
		if i := bytes.IndexByte(cgroupFile, '\n'); i >= 0 {
			line, cgroupFile = cgroupFile[:i], cgroupFile[i+1:]
		} else {
			line, cgroupFile = cgroupFile, nil
		}
		// hierarchy-ID:controllers:path; the path may itself contain ':'.
		_, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		_, p, ok := bytes.Cut(rest, []byte{':'})
		if !ok {
			continue
		}
		if id := idInPath(p); id != "" {
			return id, string(p)
		}
	}
	return "", ""
}

func idInPath(p []byte) string {
	for len(p) > 0 {
		i := bytes.LastIndexByte(p, '/')
		elem := p[i+1:]
		if i < 0 {
			p = nil
		} else {
			p = p[:i]
		}
		if isHex64(elem) {
			return string(elem)
		}
		scope, ok := bytes.CutSuffix(elem, []byte(".scope"))
		if !ok || len(scope) < 65 || scope[len(scope)-65] != '-' {
			continue
		}
		if bytes.Contains(scope[:len(scope)-65], []byte("conmon")) {
			return ""
		}
		if id := scope[len(scope)-64:]; isHex64(id) {
			return string(id)
		}
	}
	return ""
}

func isHex64(b []byte) bool {
	if len(b) != 64 {
		return false
	}
	for _, c := range b {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
