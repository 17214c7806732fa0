// Package sockdiagvn compares the agent's sock_diag reader
// (agent/internal/sockdiag) with vishvananda/netlink's SocketDiagTCP on
// the same real sockets: a network namespace holding one listener and
// 20,000 or 50,000 loopback connections of the benchmark's process
// (40,001 and 100,001 sockets), parked in flight by loopconn.OpenParked.
//
// It is a module of its own so that vishvananda/netlink, a baseline only,
// never enters the main go.mod; its module path sits under agent/ so that
// it may import the agent's internal packages.
//
//	cd bench/sockdiagvn && sudo go test -run '^$' -bench . -benchtime 20x
//
// SocketDiagTCP asks for every state (idiag_states 0xfff) and for the
// INET_DIAG_INFO and INET_DIAG_VEGASINFO extensions (a tcp_info per
// socket), and allocates a *Socket and two net.IP per IPv4 socket; the
// LISTEN and ESTABLISHED rows are filtered afterwards.
package sockdiagvn
