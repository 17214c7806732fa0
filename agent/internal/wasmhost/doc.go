// Package wasmhost is the plugin step of the pipeline: it runs proctag's
// WebAssembly plugins, after the rules, on the processes they accepted.
//
// It owns the chain (the configured plugins in order, then the plugin-dir
// drop-ins, then each tenant's, by name), the per-process result cache (a
// plugin is called again only when the grant-filtered record it sees
// changed, or it was reloaded), batching the records to call into chunks
// run in parallel up to the plugin's pool size, each plugin's tick budget,
// the circuit breaker (repeated faults open it, with exponential backoff
// and a half-open probe), applying results in plugin order (drop, tag
// removals and additions, rename) with one Effect per plugin for explain,
// keeping a process's previous result after a fault, counting and logging
// faults once per kind, the counters (Stats), hot reload of the plugin
// directories (a changed module replaces the old one only once it loads),
// and the tenants' status files.
//
// Running one call safely is package sandbox: compiling and instrumenting
// a module, instances, pools, deadlines, memory caps, grants, faults and
// the guest's log. The step reads no configuration: it takes a Config of
// PluginSpecs and Tenants, mapped from the configuration by package
// runner, which also supplies the manifest parsers of the plugin
// directories. The caller (the agent's tick) hands Apply the accepted
// processes and uses the Outputs; Run does the hot reload.
package wasmhost
