module github.com/proctag/proctag/agent/internal/bench/sockdiagvn

go 1.26.0

require (
	github.com/proctag/proctag v0.0.0
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	golang.org/x/sys v0.50.0
)

replace github.com/proctag/proctag => ../../
