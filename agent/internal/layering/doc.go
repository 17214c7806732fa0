// Package layering holds no code, only a test of the import graph: the
// steps of the pipeline (scan, sockets, tags, rules, wasmhost, publish,
// ...) and the sandbox the plugin step runs on stay independent of the
// configuration and of the packages that wire them (pipeline, runner, the
// CLI), the sandbox never imports the plugin step, no package's code (only
// tests) imports the in-process test cluster (natscluster), and the public
// packages (abi, sdk, agent/snapshot) never import internal ones. A new edge that
// breaks a rule fails the test; the edges that break one today are listed,
// each with the work that will remove it.
package layering
