// Package runner builds the pipeline's step objects from a config (Build)
// and runs the agent (Run): the tick loop at os-proc-socket-sync-interval,
// the embedded NATS server or a connection to a real one, the publisher,
// the plugin hot reload, metrics, SIGHUP reloads and a draining shutdown.
// It also decides where the agent writes (WasmCacheDir and the JetStream
// store: systemd's $CACHE_DIRECTORY and $STATE_DIRECTORY when set) and
// says once at start what the agent cannot see for lack of capabilities
// (NoticeUnseen). Each step takes a spec of its own, which the runner maps
// from the config: the plugin step's (wasmhost.Config, and the manifest
// parsers of its plugin directories) and the sandbox's (SandboxSpec,
// SandboxLimits) in plugins.go. agent/cmd/proctag only parses flags and
// calls into here.
package runner
