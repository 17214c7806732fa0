package snapshot

import (
	"slices"
	"strconv"
)

// appendProcess appends p as encoding/json writes it, compact or indented
// as appendSocket does: a snapshot of a busy host holds 10,000 processes,
// and encoding/json's reflection and indenting pass cost more than
// writing them. Tags are written in key order, as encoding/json writes a
// map. TestAppendProcess and FuzzAppendProcess hold the two to the same
// bytes.
func appendProcess(b []byte, p *Process, indent string, depth int) []byte {
	in := depth + 1
	b = append(b, '{')
	b = appendKey(b, "pid", indent, in)
	b = strconv.AppendInt(b, int64(p.PID), 10)
	b = appendNextKey(b, "ppid", indent, in)
	b = strconv.AppendInt(b, int64(p.PPID), 10)
	b = appendNextKey(b, "start_time", indent, in)
	b = strconv.AppendInt(b, p.StartTime, 10)
	b = appendNextKey(b, "name", indent, in)
	b = appendJSONString(b, p.Name)
	b = appendNextKey(b, "process_name", indent, in)
	b = appendJSONString(b, p.ProcessName)
	b = appendNextKey(b, "cmdline", indent, in)
	b = appendJSONString(b, p.Cmdline)
	if p.Exe != "" {
		b = appendNextKey(b, "exe", indent, in)
		b = appendJSONString(b, p.Exe)
	}
	if p.User != "" {
		b = appendNextKey(b, "user", indent, in)
		b = appendJSONString(b, p.User)
	}
	b = appendNextKey(b, "uid", indent, in)
	b = strconv.AppendInt(b, int64(p.UID), 10)
	if p.NetNSID != 0 {
		b = appendNextKey(b, "netns_id", indent, in)
		b = strconv.AppendUint(b, p.NetNSID, 10)
	}
	if p.ContainerID != "" {
		b = appendNextKey(b, "container_id", indent, in)
		b = appendJSONString(b, p.ContainerID)
	}
	if len(p.Tags) > 0 {
		b = appendNextKey(b, "tags", indent, in)
		b = appendTags(b, p.Tags, indent, in)
	}
	b = appendNextKey(b, "matched_rule", indent, in)
	b = strconv.AppendInt(b, int64(p.MatchedRule), 10)
	if p.Exited != 0 {
		b = appendNextKey(b, "exited", indent, in)
		b = strconv.AppendInt(b, p.Exited, 10)
	}
	b = appendNewline(b, indent, depth)
	return append(b, '}')
}

// appendTags appends a non-empty tag map at depth, its keys in order.
func appendTags(b []byte, tags map[string]string, indent string, depth int) []byte {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNewline(b, indent, depth+1)
		b = appendJSONString(b, k)
		b = append(b, ':')
		if indent != "" {
			b = append(b, ' ')
		}
		b = appendJSONString(b, tags[k])
	}
	b = appendNewline(b, indent, depth)
	return append(b, '}')
}
