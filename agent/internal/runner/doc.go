// Package runner builds the pipeline's step objects from a config (Build)
// and runs the agent (Run): the tick loop at os-proc-socket-sync-interval,
// the embedded NATS server or a connection to a real one, the publisher,
// the plugin hot reload, metrics, SIGHUP reloads and a draining shutdown.
// agent/cmd/proctag only parses flags and calls into here.
package runner
