package layering

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/proctag/proctag/"

// rule says which packages may import the packages a rule covers.
type rule struct {
	name string
	// covers reports whether the rule is about imports of pkg.
	covers func(pkg string) bool
	// may reports whether importer may import a covered package.
	may func(importer string) bool
}

func under(prefixes ...string) func(string) bool {
	return func(pkg string) bool {
		for _, p := range prefixes {
			if pkg == p || strings.HasPrefix(pkg, p+"/") {
				return true
			}
		}
		return false
	}
}

var (
	// wiring are the packages that put the steps together.
	wiring = under("agent/cmd", "agent/internal/runner", "agent/internal/plugintest")
	// public are the packages outside code imports.
	public = under("abi", "sdk", "agent/snapshot", "plugins")
)

var rules = []rule{
	{
		name:   "the pipeline is wired by the runner and the CLI only",
		covers: under("agent/internal/pipeline"),
		may:    wiring,
	},
	{
		name:   "the runner is used by the CLI only",
		covers: under("agent/internal/runner"),
		may:    under("agent/cmd", "agent/internal/runner"),
	},
	{
		name:   "a step takes its own spec; only the wiring reads the configuration",
		covers: under("agent/internal/config"),
		may:    wiring,
	},
	{
		name:   "the sandbox runs one call; the plugin step above it is not its business",
		covers: under("agent/internal/wasmhost"),
		may:    func(importer string) bool { return !under("agent/internal/sandbox")(importer) },
	},
	{
		name:   "the in-process test cluster is for tests and benchmarks only",
		covers: under("agent/internal/natscluster"),
		may:    func(string) bool { return false },
	},
	{
		name:   "public packages import no internal ones",
		covers: under("agent/internal", "agent/cmd"),
		may:    func(importer string) bool { return !public(importer) },
	},
}

// known are the edges that break a rule today, with what removes them. A
// fixed edge must be taken off this list (the test says so).
var known = map[string]string{}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), module+"agent/internal/pipeline ") {
		t.Fatalf("go list did not list the module's packages:\n%s", out)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(strings.ReplaceAll(line, module, ""))
		if len(fields) == 0 {
			continue
		}
		importer := fields[0]
		for _, imp := range fields[1:] {
			for _, r := range rules {
				if !r.covers(imp) || r.covers(importer) || r.may(importer) {
					continue
				}
				edge := importer + " -> " + imp
				if _, ok := known[edge]; ok {
					seen[edge] = true
					continue
				}
				t.Errorf("%s breaks the rule %q", edge, r.name)
			}
		}
	}
	for _, edge := range slices.Sorted(maps.Keys(known)) {
		if !seen[edge] {
			t.Errorf("%s no longer exists: take it off the known list", edge)
		}
	}
}
