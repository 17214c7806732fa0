package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk"
)

const (
	id  = "4f2c9d8e0a1b4f2c9d8e0a1b4f2c9d8e0a1b4f2c9d8e0a1b4f2c9d8e0a1b4f2c"
	uid = "1f2e3d4c-5b6a-4789-8abc-def012345678"
)

func TestParseCgroup(t *testing.T) {
	uidU := strings.ReplaceAll(uid, "-", "_")
	tests := []struct {
		name   string
		cgroup string
		want   container
	}{
		{"docker, cgroup v2 systemd", "0::/system.slice/docker-" + id + ".scope\n", container{id: id, runtime: "docker"}},
		{"docker, cgroup v1 cgroupfs", "12:memory:/docker/" + id + "\n11:cpu,cpuacct:/docker/" + id + "\n", container{id: id, runtime: "docker"}},
		{"podman rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope\n", container{id: id, runtime: "podman"}},
		{"podman container subgroup", "0::/machine.slice/libpod-" + id + ".scope/container\n", container{id: id, runtime: "podman"}},
		{"podman conmon is not the container", "0::/machine.slice/libpod-conmon-" + id + ".scope\n", container{}},
		{"podman v1 cgroupfs", "5:pids:/libpod_parent/" + id + "\n", container{id: id, runtime: "podman"}},
		{"nerdctl", "0::/system.slice/nerdctl-" + id + ".scope\n", container{id: id, runtime: "containerd"}},
		{"k8s containerd systemd burstable", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + id + ".scope\n",
			container{id: id, runtime: "containerd", podUID: uid, qos: "burstable"}},
		{"k8s crio systemd besteffort", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + id + ".scope\n",
			container{id: id, runtime: "crio", podUID: uid, qos: "besteffort"}},
		{"k8s systemd guaranteed", "0::/kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + id + ".scope\n",
			container{id: id, runtime: "containerd", podUID: uid, qos: "guaranteed"}},
		{"k8s cgroupfs v1 besteffort, runtime unknown", "11:cpu,cpuacct:/kubepods/besteffort/pod" + uid + "/" + id + "\n",
			container{id: id, podUID: uid, qos: "besteffort"}},
		{"k8s cgroupfs guaranteed", "0::/kubepods/pod" + uid + "/" + id + "\n", container{id: id, podUID: uid, qos: "guaranteed"}},
		{"k8s pod cgroup itself, no container", "0::/kubepods/burstable/pod" + uid + "\n", container{podUID: uid, qos: "burstable"}},
		{"k8s pod with a malformed uid", "0::/kubepods/burstable/podXYZ/" + id + "\n", container{id: id, qos: "burstable"}},
		{"host process, v2", "0::/user.slice/user-1000.slice/session-3.scope\n", container{}},
		{"host process, v1", "12:memory:/user.slice\n1:name=systemd:/init.scope\n", container{}},
		{"short hex is not an id", "0::/docker/4f2c9d8e0a1b\n", container{}},
		{"upper-case hex is not an id", "0::/docker/" + strings.ToUpper(id) + "\n", container{}},
		{"empty", "", container{}},
		{"no newline at end", "0::/system.slice/crio-" + id + ".scope", container{id: id, runtime: "crio"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseCgroup(tt.cgroup); got != tt.want {
				t.Errorf("parseCgroup(%q)\n got %+v\nwant %+v", tt.cgroup, got, tt.want)
			}
		})
	}
}

func TestHandle(t *testing.T) {
	if err := configure([]byte("acme.io/")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		rec  abi.Record
		want []abi.Tag
	}{
		{"k8s pod", abi.Record{Cgroup: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/cri-containerd-" + id + ".scope\n"},
			[]abi.Tag{{Key: "acme.io/container.id", Value: id}, {Key: "acme.io/container.runtime", Value: "containerd"}, {Key: "acme.io/k8s.pod.uid", Value: uid}, {Key: "acme.io/k8s.qos", Value: "burstable"}}},
		{"cgroup not granted, container id is", abi.Record{ContainerID: "abc123"}, []abi.Tag{{Key: "acme.io/container.id", Value: "abc123"}}},
		{"host process", abi.Record{Cgroup: "0::/init.scope\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out sdk.Result
			handle(&sdk.Process{Record: tt.rec}, &out)
			if got := out.Tags(); !reflect.DeepEqual(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) {
				t.Errorf("tags = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		config  string
		wantErr bool
	}{
		{"acme.io/", false},
		{" k8s/\n", false},
		{"", true},
		{"bad:prefix", true},
		{"has space/", true},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			if err := configure([]byte(tt.config)); (err != nil) != tt.wantErr {
				t.Errorf("configure(%q) = %v, want error %v", tt.config, err, tt.wantErr)
			}
		})
	}
}

// FuzzParseCgroup checks that any cgroup file parses without panicking and
// that what it finds is well formed.
func FuzzParseCgroup(f *testing.F) {
	f.Add("0::/system.slice/docker-" + id + ".scope\n")                            // docker v2
	f.Add("11:cpu:/kubepods/besteffort/pod" + uid + "/" + id + "\n")               // k8s cgroupfs
	f.Add("0::/kubepods.slice/kubepods-pod.slice\n")                               // pod slice without uid
	f.Add("::\n:\n\n")                                                             // empty fields
	f.Add("0::/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + "\n") // uid with underscores
	f.Fuzz(func(t *testing.T, cgroup string) {
		c := parseCgroup(cgroup)
		if c.id != "" && !isID(c.id) {
			t.Errorf("id %q is not 64 hex digits", c.id)
		}
		if c.podUID != "" && !isUID(c.podUID) {
			t.Errorf("pod uid %q is not a uid", c.podUID)
		}
		switch c.qos {
		case "", "guaranteed", "burstable", "besteffort":
		default:
			t.Errorf("qos %q", c.qos)
		}
	})
}
