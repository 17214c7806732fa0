package render

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// ServiceMapFormats are the formats of `proctag map --format`.
var ServiceMapFormats = []string{"table", "json", "dot", "mermaid"}

// ServiceMap writes m in format (one of ServiceMapFormats): an aligned
// table, indented JSON, a Graphviz digraph or a Mermaid flowchart. In the
// two pictures each host is a box (a cluster, a subgraph) around its
// processes, an address no followed host has is a rounded node outside,
// and each edge is labelled proto/port with its connection count.
func ServiceMap(w io.Writer, m natssub.ServiceMap, format string) error {
	switch format {
	case "table":
		return serviceMapTable(w, m)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	case "dot":
		return dotPicture.write(w, m)
	case "mermaid":
		return mermaidPicture.write(w, m)
	}
	return fmt.Errorf("format %q is not %s", format, strings.Join(ServiceMapFormats, ", "))
}

func serviceMapTable(w io.Writer, m natssub.ServiceMap) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tSERVER\tPROTO\tPORT\tOPEN\tCLOSED")
	for _, e := range m.Edges {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", Printable(e.Client.String(), ""), Printable(e.Server.String(), ""),
			e.Proto, e.Port, e.Open, e.Closed)
	}
	return tw.Flush()
}

// graph is a service map's nodes, numbered in sorted order, grouped by host.
type graph struct {
	ids   map[natssub.Node]int
	hosts []string                  // sorted
	procs map[string][]natssub.Node // by host, sorted
	addrs []natssub.Node            // sorted
}

func newGraph(m natssub.ServiceMap) graph {
	g := graph{ids: map[natssub.Node]int{}, procs: map[string][]natssub.Node{}}
	var nodes []natssub.Node
	for _, e := range m.Edges {
		for _, n := range []natssub.Node{e.Client, e.Server} {
			if _, ok := g.ids[n]; !ok {
				g.ids[n] = 0
				nodes = append(nodes, n)
			}
		}
	}
	slices.SortFunc(nodes, func(a, b natssub.Node) int {
		return cmp.Or(cmp.Compare(a.HostID, b.HostID), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Addr, b.Addr))
	})
	for i, n := range nodes {
		g.ids[n] = i
		if n.Addr != "" {
			g.addrs = append(g.addrs, n)
			continue
		}
		if len(g.procs[n.HostID]) == 0 {
			g.hosts = append(g.hosts, n.HostID)
		}
		g.procs[n.HostID] = append(g.procs[n.HostID], n)
	}
	return g
}

// edgeLabel is proto/port and the connection count, with how many of them
// were short ones.
func edgeLabel(e natssub.Edge) string {
	s := e.Proto + "/" + strconv.Itoa(int(e.Port)) + " ×" + strconv.Itoa(e.Connections())
	if e.Closed > 0 {
		s += " (" + strconv.Itoa(e.Closed) + " closed)"
	}
	return s
}

// dotQuote is s as a DOT string: quoted, with quotes and backslashes
// escaped and unprintable runes written out.
func dotQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(Printable(s, ""))
	return `"` + s + `"`
}

// mermaidQuote is s as a quoted Mermaid label: quotes and angle brackets
// as entities, unprintable runes written out.
func mermaidQuote(s string) string {
	s = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(Printable(s, ""))
	return `"` + s + `"`
}

// picture is the syntax of a drawn service map: a format for each part,
// whose %d is a host's or a node's number and %s a label quoted by quote.
// edge takes the client's and the server's numbers, then the label.
type picture struct {
	begin, host, proc, hostEnd, addr, edge, end string
	quote                                       func(string) string
}

// dotPicture is a Graphviz digraph, each host a cluster.
var dotPicture = picture{
	begin:   "digraph proctag {\n  rankdir=LR;\n  node [shape=box];\n",
	host:    "  subgraph cluster_%d {\n    label=%s;\n",
	proc:    "    n%d [label=%s];\n",
	hostEnd: "  }\n",
	addr:    "  n%d [label=%s, shape=box, style=\"rounded,dashed\"];\n",
	edge:    "  n%[1]d -> n%[2]d [label=%[3]s];\n",
	end:     "}\n",
	quote:   dotQuote,
}

// mermaidPicture is a Mermaid flowchart, each host a subgraph.
var mermaidPicture = picture{
	begin:   "flowchart LR\n",
	host:    "  subgraph h%d[%s]\n",
	proc:    "    n%d[%s]\n",
	hostEnd: "  end\n",
	addr:    "  n%d([%s])\n",
	edge:    "  n%[1]d -->|%[3]s| n%[2]d\n",
	quote:   mermaidQuote,
}

// write draws m in p's syntax: each host around its processes, the
// addresses, then the edges.
func (p picture) write(w io.Writer, m natssub.ServiceMap) error {
	g := newGraph(m)
	var b strings.Builder
	b.WriteString(p.begin)
	for i, h := range g.hosts {
		fmt.Fprintf(&b, p.host, i, p.quote(h))
		for _, n := range g.procs[h] {
			fmt.Fprintf(&b, p.proc, g.ids[n], p.quote(n.Name))
		}
		b.WriteString(p.hostEnd)
	}
	for _, n := range g.addrs {
		fmt.Fprintf(&b, p.addr, g.ids[n], p.quote(n.Addr))
	}
	for _, e := range m.Edges {
		fmt.Fprintf(&b, p.edge, g.ids[e.Client], g.ids[e.Server], p.quote(edgeLabel(e)))
	}
	b.WriteString(p.end)
	_, err := io.WriteString(w, b.String())
	return err
}
