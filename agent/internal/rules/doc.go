// Package rules owns os-proc-regex: it compiles the configured rules
// (rules.Spec) into a *Set and decides, for every scanned process, whether it
// is reported and under which name, exactly as the DeepFlow agent's legacy
// process sync (v6.4 to v6.6, agent/src/platform/platform_synchronizer/
// linux_process.rs, ProcRegRewrite) does.
//
// What it keeps from DeepFlow:
//   - omitted keys are empty strings; an implicit accept-all rule is
//     appended; invalid rules are skipped, the rest still apply;
//   - the first rule whose regex matches (unanchored) decides;
//   - rewrite-name is a Rust regex replacement template applied with
//     replace-all to the subject, after %VAR% expansion at load time;
//   - parent_process_name walks all ancestors, tag matches "key:value" of
//     the process's own tags;
//   - min-lifetime before rules, tagged-only after rules, tag inheritance
//     from reported parents last.
//
// Regexes are written in the Rust regex crate 1.8 dialect; dialect.go
// translates them to Go's RE2 syntax (Unicode-aware \w \d \s \b) or rejects
// what the two engines would read differently.
//
// Where proctag deliberately differs (DeepFlow would crash or cannot be
// matched exactly by RE2):
//   - ppid cycles end parent walks and tag inheritance instead of recursing
//     forever;
//   - Rust syntax that Go reads differently is not guessed at: CRLF mode
//     (?R), capture names with '.', '[' or ']', and Unicode property names
//     Go's tables lack make the rule invalid, with a reason (nested classes
//     and class set operations are computed as rune sets, classset.go);
//   - a repetition count above 1000 (Go's limit) makes the rule invalid.
//
// What it leaves to others: reading /proc (scan), running the tag exec
// command (tags), loading the YAML (config) and plugins (wasmhost). The
// Evaluator caches verdicts per (pid, starttime) so that a steady tick runs
// no regex at all.
package rules
