package main

import "strings"

// container is what a cgroup path tells about a process's container.
type container struct {
	id      string // 64 hex digits
	runtime string // docker, containerd, crio, podman; "" when the path does not say
	podUID  string // Kubernetes pod uid, with dashes
	qos     string // guaranteed, burstable, besteffort
}

// scopePrefixes map the systemd scope names container runtimes create
// (NAME-<id>.scope) to the runtime.
var scopePrefixes = []struct{ prefix, runtime string }{
	{"docker-", "docker"},
	{"cri-containerd-", "containerd"},
	{"nerdctl-", "containerd"},
	{"crio-", "crio"},
	{"libpod-", "podman"},
}

// parentRuntimes map the cgroupfs parent folder of a bare <id> folder to the
// runtime.
var parentRuntimes = map[string]string{
	"docker":        "docker",
	"libpod_parent": "podman",
	"machine.slice": "podman",
}

// parseCgroup reads /proc/PID/cgroup (cgroups(7): one
// "hierarchy-ID:controller-list:cgroup-path" line per hierarchy; cgroup v2
// has the single line "0::PATH") and returns what the first line that names
// a container or a pod says. It knows the forms of Docker, containerd
// (CRI, nerdctl), CRI-O and Podman, with the cgroupfs and systemd drivers,
// and the Kubernetes kubepods hierarchy of both drivers.
func parseCgroup(cgroup string) container {
	for line := range strings.Lines(cgroup) {
		line = strings.TrimRight(line, "\n")
		_, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		_, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if c := parsePath(path); c != (container{}) {
			return c
		}
	}
	return container{}
}

// parsePath reads one cgroup path.
func parsePath(path string) container {
	var c container
	kube := false
	parent := ""
	for seg := range strings.SplitSeq(path, "/") {
		switch {
		case seg == "kubepods" || strings.HasPrefix(seg, "kubepods.") || strings.HasPrefix(seg, "kubepods-"):
			kube = true
			kubeSegment(seg, &c)
		case kube && (seg == "besteffort" || seg == "burstable"):
			c.qos = seg
		case kube && strings.HasPrefix(seg, "pod"):
			c.podUID = seg[len("pod"):]
		case isID(seg):
			c.id = seg
			if rt, ok := parentRuntimes[parent]; ok {
				c.runtime = rt
			}
		default:
			if id, rt := scopeID(seg); id != "" {
				c.id, c.runtime = id, rt
			}
		}
		parent = seg
	}
	if kube && c.qos == "" {
		c.qos = "guaranteed"
	}
	if c.podUID != "" && !isUID(c.podUID) {
		c.podUID = ""
	}
	return c
}

// kubeSegment reads a systemd-driver kubepods slice name:
// kubepods-burstable.slice, kubepods-besteffort-pod<uid>.slice,
// kubepods-pod<uid>.slice, where the uid has _ for -.
func kubeSegment(seg string, c *container) {
	name := strings.TrimSuffix(seg, ".slice")
	parts := strings.Split(name, "-")
	for _, p := range parts[1:] {
		switch {
		case p == "besteffort" || p == "burstable":
			c.qos = p
		case strings.HasPrefix(p, "pod"):
			c.podUID = strings.ReplaceAll(p[len("pod"):], "_", "-")
		}
	}
}

// scopeID returns the id and runtime of a NAME-<id>.scope segment.
// conmon's scopes (crio-conmon-<id>, libpod-conmon-<id>) are not the
// container's.
func scopeID(seg string) (id, runtime string) {
	name, ok := strings.CutSuffix(seg, ".scope")
	if !ok {
		return "", ""
	}
	for _, sp := range scopePrefixes {
		if rest, ok := strings.CutPrefix(name, sp.prefix); ok && isID(rest) {
			return rest, sp.runtime
		}
	}
	return "", ""
}

// isID reports whether s is a 64-digit lower-case hex container id.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// isUID reports whether s looks like a Kubernetes uid (RFC 4122 text form).
func isUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
				return false
			}
		}
	}
	return true
}
