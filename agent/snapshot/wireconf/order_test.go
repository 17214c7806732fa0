package wireconf

// The reader's orders and JSON helpers, written from WIRE.md alone like
// reader_test.go, under the same import rule.

import (
	"cmp"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// sortedProcs orders processes by pid, start_time ("snapshot").
func sortedProcs(m map[procKey]obj) []obj {
	keys := make([]procKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b procKey) int { return cmp.Or(cmp.Compare(a.pid, b.pid), cmp.Compare(a.start, b.start)) })
	out := make([]obj, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// sortedSockets orders sockets by netns_id, proto (as a string), local
// address, local port, remote address, remote port, inode; addresses
// numerically, every IPv4 one before every IPv6 one ("snapshot").
func sortedSockets(m map[uint64]obj) []obj {
	out := make([]obj, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	addr := func(s obj, field string) netip.Addr {
		a, _ := netip.ParseAddr(str(s[field]))
		return a
	}
	ip := func(a, b netip.Addr) int {
		switch {
		case a.Is4() && !b.Is4():
			return -1
		case !a.Is4() && b.Is4():
			return 1
		}
		return a.Compare(b)
	}
	slices.SortFunc(out, func(a, b obj) int {
		return cmp.Or(
			cmp.Compare(uint64Num(a["netns_id"]), uint64Num(b["netns_id"])),
			strings.Compare(str(a["proto"]), str(b["proto"])),
			ip(addr(a, "local_ip"), addr(b, "local_ip")),
			cmp.Compare(uint64Num(a["local_port"]), uint64Num(b["local_port"])),
			ip(addr(a, "remote_ip"), addr(b, "remote_ip")),
			cmp.Compare(uint64Num(a["remote_port"]), uint64Num(b["remote_port"])),
			cmp.Compare(uint64Num(a["inode"]), uint64Num(b["inode"])))
	})
	return out
}

// list returns a JSON array's objects and values; nil for absent.
func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// object returns a JSON object, or an empty one for anything else.
func object(v any) obj {
	if o, ok := v.(obj); ok {
		return o
	}
	return obj{}
}

func keyOf(v any) procKey {
	o, _ := v.(obj)
	return procKey{int64(uint64Num(o["pid"])), int64(uint64Num(o["start_time"]))}
}

func inodeOf(v any) uint64 {
	o, _ := v.(obj)
	return uint64Num(o["inode"])
}

// uint64Num reads a JSON number; absent (an omitted 0) is 0.
func uint64Num(v any) uint64 {
	n, _ := v.(json.Number)
	u, _ := strconv.ParseUint(string(n), 10, 64)
	return u
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
