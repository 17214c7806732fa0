package scan

import (
	"strings"
	"testing"
)

const (
	id1    = "4f1d6a2f0e9c3b7d8a5e6f1c2b3a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"
	podUID = "3c1a6b52_0f4e_4b8e_9a57_2d1e6f0c9b11"
)

func TestContainerID(t *testing.T) {
	cases := []struct {
		name, file, id, path string
	}{
		{name: "docker cgroup v1",
			file: "12:pids:/docker/" + id1 + "\n11:memory:/docker/" + id1 + "\n0::/\n",
			id:   id1, path: "/docker/" + id1},
		{name: "docker cgroup v2 systemd",
			file: "0::/system.slice/docker-" + id1 + ".scope\n",
			id:   id1, path: "/system.slice/docker-" + id1 + ".scope"},
		{name: "k8s cgroup v1 cgroupfs burstable",
			file: "11:memory:/kubepods/burstable/pod" + podUID + "/" + id1 + "\n",
			id:   id1, path: "/kubepods/burstable/pod" + podUID + "/" + id1},
		{name: "k8s cgroup v1 cgroupfs besteffort",
			file: "4:cpu,cpuacct:/kubepods/besteffort/pod" + podUID + "/" + id1 + "\n",
			id:   id1, path: "/kubepods/besteffort/pod" + podUID + "/" + id1},
		{name: "k8s cgroup v1 systemd containerd",
			file: "9:pids:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope\n",
			id:   id1, path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope"},
		{name: "k8s cgroup v2 containerd burstable",
			file: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope\n",
			id:   id1, path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope"},
		{name: "k8s cgroup v2 containerd besteffort",
			file: "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope\n",
			id:   id1, path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope"},
		{name: "k8s cgroup v2 guaranteed",
			file: "0::/kubepods.slice/kubepods-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope\n",
			id:   id1, path: "/kubepods.slice/kubepods-pod" + podUID + ".slice/cri-containerd-" + id1 + ".scope"},
		{name: "k8s cgroup v2 cgroupfs driver",
			file: "0::/kubepods/burstable/pod" + podUID + "/" + id1 + "\n",
			id:   id1, path: "/kubepods/burstable/pod" + podUID + "/" + id1},
		{name: "k8s with cri-dockerd",
			file: "0::/kubepods.slice/kubepods-pod" + podUID + ".slice/docker-" + id1 + ".scope\n",
			id:   id1, path: "/kubepods.slice/kubepods-pod" + podUID + ".slice/docker-" + id1 + ".scope"},
		{name: "cri-o",
			file: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/crio-" + id1 + ".scope\n",
			id:   id1, path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/crio-" + id1 + ".scope"},
		{name: "cri-o conmon is not a container",
			file: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/crio-conmon-" + id1 + ".scope\n"},
		{name: "podman",
			file: "0::/machine.slice/libpod-" + id1 + ".scope\n",
			id:   id1, path: "/machine.slice/libpod-" + id1 + ".scope"},
		{name: "podman nested container cgroup",
			file: "0::/machine.slice/libpod-" + id1 + ".scope/container\n",
			id:   id1, path: "/machine.slice/libpod-" + id1 + ".scope/container"},
		{name: "podman rootless",
			file: "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope\n",
			id:   id1, path: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope"},
		{name: "podman conmon is not a container",
			file: "0::/machine.slice/libpod-conmon-" + id1 + ".scope\n"},
		{name: "systemd in docker",
			file: "0::/system.slice/docker-" + id1 + ".scope/init.scope\n",
			id:   id1, path: "/system.slice/docker-" + id1 + ".scope/init.scope"},
		{name: "hybrid: id only in a later v1 line",
			file: "13:name=systemd:/\n12:pids:/\n4:memory:/docker/" + id1 + "\n0::/\n",
			id:   id1, path: "/docker/" + id1},
		{name: "host session", file: "0::/user.slice/user-1000.slice/session-3.scope\n"},
		{name: "host service", file: "0::/system.slice/ssh.service\n"},
		{name: "root", file: "0::/\n"},
		{name: "this machine (32 hex is not an id)", file: "4:memory:/process_api/9dc231b19d551be31ca9a8f7429fdcea\n0::/\n"},
		{name: "upper-case hex", file: "0::/docker/" + strings.ToUpper(id1) + "\n"},
		{name: "63 digits", file: "0::/docker/" + id1[1:] + "\n"},
		{name: "scope without dash", file: "0::/x" + id1 + ".scope\n"},
		{name: "empty file", file: ""},
		{name: "garbage", file: "not a cgroup file\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, path := ContainerID(tc.file)
			if id != tc.id || path != tc.path {
				t.Errorf("ContainerID = %q, %q; want %q, %q", id, path, tc.id, tc.path)
			}
			// The id and path are substrings of the file: nothing is copied.
			if n := testing.AllocsPerRun(10, func() { ContainerID(tc.file) }); n != 0 {
				t.Errorf("ContainerID allocates %v times, want 0", n)
			}
		})
	}
}

func FuzzContainerID(f *testing.F) {
	f.Add([]byte("0::/system.slice/docker-" + id1 + ".scope\n"))       // systemd scope
	f.Add([]byte("11:memory:/kubepods/burstable/podx/" + id1))         // cgroupfs, no newline
	f.Add([]byte("0::/machine.slice/libpod-conmon-" + id1 + ".scope")) // conmon
	f.Add([]byte("0::-" + id1 + ".scope"))                             // scope without a directory
	f.Add([]byte(":::\n::\n"))                                         // empty fields
	f.Fuzz(func(t *testing.T, b []byte) {
		id, path := ContainerID(string(b))
		if id == "" {
			if path != "" {
				t.Fatalf("ContainerID(%q) = no id but path %q", b, path)
			}
			return
		}
		if !isHex64(id) || !strings.Contains(path, id) || !strings.Contains(string(b), path) {
			t.Fatalf("ContainerID(%q) = %q, %q", b, id, path)
		}
	})
}
