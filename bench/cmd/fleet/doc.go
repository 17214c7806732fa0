// Command fleet measures the subscriber side and a NATS cluster at fleet
// scale on one machine: -hosts simulated hosts (1,000) in this process,
// each generated from -seed with about -procs processes and -sockets
// sockets (listeners of its services, loopback pairs, and connections to
// other hosts' listeners whose server ends are on those hosts), each
// publishing its state every -interval through the real publisher
// (agent/internal/publish) on its own connection to one server of a real
// 3-node nats-server cluster started in-process (natscluster), with the
// JetStream stream on 3 replicas. Hosts tick independently, spread over
// the interval; in the churn phases a -churn share of them replace
// processes and connections at each tick (both ends of a connection
// change, the peer's at its next tick).
//
// The subscriber runs in a child process (this binary with
// -subscriber-child), so that its CPU time and peak resident set are its
// own: natssub following every host, and a natssub.FlowIndex following
// the subscriber. It counts what its socket receives, by subject kind,
// and answers the parent's requests on stdin/stdout (one JSON line each):
// every host's state digest (processes and sockets, hashed the same way
// as the parent hashes what it submitted), seq and sync; its usage; a
// flow lookup benchmark over its index.
//
// Phases, in order: the subscriber joins the running fleet and gets every
// host's state; a quiet window (wire bytes per host per second, CPU); a
// churn window (CPU); a late subscriber started while the fleet churns
// (time to every host's state); the server most publishers use is killed
// (time until every host is current again, in intervals); the churn stops
// and every host's state at both subscribers must be the host's (a host
// that claims to be in sync with another state is an undetected gap); the
// flow lookups. It prints one table with the targets (bench/report).
//
//	cd bench && go run ./cmd/fleet -quick
package main
