package render

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/proctag/proctag/agent/snapshot"
)

// JSON writes s as one indented JSON object followed by a newline, one list
// element at a time (snapshot.WriteJSON).
func JSON(w io.Writer, s *snapshot.Snapshot) error {
	if err := snapshot.WriteJSON(w, s, "  "); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Table writes s for a terminal width columns wide (0 = 120): a header line
// about the host, the processes sorted by pid with their connection counts,
// then the listening sockets. Long cells are cut with "…" so rows fit.
func Table(w io.Writer, s *snapshot.Snapshot, width int) error {
	if width <= 0 {
		width = 120
	}
	socks := s.SocketList()
	listen, conns := socketCounts(socks)
	fmt.Fprintf(w, "host %s (%s)  scanned %s  processes %d  sockets %d\n\n",
		Printable(s.Host.HostID, ""), Printable(s.Host.Hostname, ""), s.Host.ScanTime.Format("2006-01-02 15:04:05"), len(s.Processes), len(socks))

	procs := append([]snapshot.Process(nil), s.Processes...)
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	rows := [][]string{{"PID", "PPID", "USER", "NAME", "RULE", "LISTEN", "CONNS", "TAGS", "CMDLINE"}}
	for _, p := range procs {
		rule := "-"
		if p.MatchedRule >= 0 {
			rule = strconv.Itoa(p.MatchedRule)
		}
		rows = append(rows, []string{
			strconv.Itoa(p.PID), strconv.Itoa(p.PPID), p.User, p.Name, rule,
			strconv.Itoa(listen[p.PID]), strconv.Itoa(conns[p.PID]), tagString(p.Tags), p.Cmdline,
		})
	}
	writeRows(w, rows, width)

	var lrows [][]string
	for _, so := range socks {
		if so.Role != "server" || (so.State != "LISTEN" && so.RemotePort != 0) {
			continue
		}
		lrows = append(lrows, []string{so.Proto, hostPort(so.LocalIP, so.LocalPort), so.State, pidList(so.PIDs)})
	}
	if len(lrows) > 0 {
		fmt.Fprintln(w)
		writeRows(w, append([][]string{{"PROTO", "LOCAL", "STATE", "PIDS"}}, lrows...), width)
	}
	return nil
}

// socketCounts returns, per pid, how many listening and how many connected
// sockets it holds.
func socketCounts(socks []snapshot.Socket) (listen, conns map[int]int) {
	listen, conns = map[int]int{}, map[int]int{}
	for _, so := range socks {
		m := conns
		if so.State == "LISTEN" || (so.RemotePort == 0 && strings.HasPrefix(so.Proto, "udp")) {
			m = listen
		}
		for _, pid := range so.PIDs {
			m[pid]++
		}
	}
	return listen, conns
}

func tagString(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	kv := make([]string, 0, len(tags))
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func hostPort(ip string, port uint16) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(int(port))
	}
	return ip + ":" + strconv.Itoa(int(port))
}

func pidList(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// writeRows aligns rows in columns; the last column takes what is left of
// width, and every cell is cut to its column.
func writeRows(w io.Writer, rows [][]string, width int) {
	cols := len(rows[0])
	widths := make([]int, cols)
	for _, r := range rows {
		for c, cell := range r[:cols-1] {
			widths[c] = max(widths[c], min(runeLen(Printable(cell, "")), 32))
		}
	}
	const lastMin = 10
	used := 0
	for _, n := range widths[:cols-1] {
		used += n + 2
	}
	// Shrink the widest columns until the row fits, down to 6 runes each.
	for used+lastMin > width {
		widest := 0
		for c := range widths[:cols-1] {
			if widths[c] > widths[widest] {
				widest = c
			}
		}
		if widths[widest] <= 6 {
			break
		}
		widths[widest]--
		used--
	}
	widths[cols-1] = max(width-used, lastMin)
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for c, cell := range r {
			cell = cut(Printable(cell, ""), widths[c])
			b.WriteString(cell)
			if c < cols-1 {
				b.WriteString(strings.Repeat(" ", widths[c]-runeLen(cell)+2))
			}
		}
		io.WriteString(w, strings.TrimRight(b.String(), " ")+"\n")
	}
}

func runeLen(s string) int { return len([]rune(s)) }

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
