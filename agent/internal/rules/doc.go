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
// Regexes are written in the Rust regex crate 1.8 dialect, as DeepFlow
// compiles them; package rustre translates them to Go's RE2 (Unicode-aware
// \w \d \s \b, Rust's class syntax and replacement templates) and refuses
// with a reason what the two engines would read differently. rules uses
// rustre through its API only and adds no regex semantics of its own.
//
// Where proctag deliberately differs (DeepFlow would crash or cannot be
// matched exactly by RE2):
//   - ppid cycles end parent walks and tag inheritance instead of recursing
//     forever;
//   - a pattern the Rust crate accepts but rustre refuses (CRLF mode (?R),
//     Unicode property names Go's tables lack, repetition counts above
//     Go's 1000; the list is in rustre's documentation) makes the rule
//     invalid, with the reason.
//
// What it leaves to others: reading /proc (scan), running the tag exec
// command (tags), loading the YAML (config), plugins (wasmhost), the
// regex dialect (rustre) and measuring process ages (the pipeline sets
// Proc.Young from os-proc-socket-min-lifetime; rules only honours it). The
// Evaluator caches verdicts per (pid, starttime) so that a steady tick runs
// no regex at all.
package rules
