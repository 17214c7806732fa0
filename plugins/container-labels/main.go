// Command container-labels is a proctag plugin that tags containerised
// processes with what their cgroup says: the container runtime and id, and
// for Kubernetes pods the pod uid and QoS class. The tag keys are
// PREFIX + container.id, container.runtime, k8s.pod.uid, k8s.qos, PREFIX
// being the plugin's config (it must equal or extend the manifest's
// tag-prefix).
package main

import (
	"errors"
	"strings"

	"github.com/proctag/proctag/sdk"
)

func main() {}

// Tag keys, after the configured prefix.
var (
	keyID      string
	keyRuntime string
	keyPodUID  string
	keyQoS     string
)

func init() {
	sdk.OnInit(configure)
	sdk.Handle(handle)
}

// configure takes the tag key prefix, e.g. "acme.io/".
func configure(config []byte) error {
	prefix := strings.TrimSpace(string(config))
	if prefix == "" {
		return errors.New("config must be the tag key prefix, e.g. acme.io/")
	}
	for i := 0; i < len(prefix); i++ {
		if !keyByte(prefix[i]) {
			return errors.New("config: the tag key prefix may only have letters, digits, _ . - /")
		}
	}
	keyID = prefix + "container.id"
	keyRuntime = prefix + "container.runtime"
	keyPodUID = prefix + "k8s.pod.uid"
	keyQoS = prefix + "k8s.qos"
	return nil
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '/'
}

func handle(p *sdk.Process, out *sdk.Result) {
	c := parseCgroup(p.Cgroup)
	if c.id == "" {
		c.id = p.ContainerID
	}
	if c.id != "" {
		out.SetTag(keyID, c.id)
	}
	if c.runtime != "" {
		out.SetTag(keyRuntime, c.runtime)
	}
	if c.podUID != "" {
		out.SetTag(keyPodUID, c.podUID)
	}
	if c.qos != "" {
		out.SetTag(keyQoS, c.qos)
	}
}
