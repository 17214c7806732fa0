package sdk_test

import (
	"fmt"
	"strings"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk"
)

// handle is what a plugin registers with sdk.Handle in its init function.
// Because the handler is a plain function over sdk types, it is tested
// natively: build a Process, call it, read the Result.
func handle(p *sdk.Process, out *sdk.Result) {
	if len(p.Argv) > 2 && p.Argv[1] == "-jar" {
		out.Rename(strings.TrimSuffix(p.Argv[2], ".jar"))
		out.SetTag("acme.io/runtime", "jvm")
	}
}

func Example() {
	p := &sdk.Process{Record: abi.Record{
		ProcessName: "java",
		Argv:        []string{"java", "-jar", "billing.jar"},
		Present:     abi.FieldProcessName | abi.FieldArgv,
	}}
	var out sdk.Result
	handle(p, &out)

	name, renamed := out.Renamed()
	fmt.Println(name, renamed, out.Tags())
	// Output: billing true [{acme.io/runtime jvm}]
}

// Fields the operator did not grant are zero; Has tells them apart from
// empty ones.
func ExampleProcess_Has() {
	p := &sdk.Process{Record: abi.Record{Present: abi.FieldPID}}
	fmt.Println(p.Has(abi.FieldPID), p.Has(abi.FieldEnv))
	// Output: true false
}

func ExampleProcess_Getenv() {
	p := &sdk.Process{Record: abi.Record{Env: []string{"JAVA_HOME=/opt/jdk", "LANG=C"}}}
	v, ok := p.Getenv("JAVA_HOME")
	fmt.Println(v, ok)
	// Output: /opt/jdk true
}

// Setting a key twice keeps the last value; the result lists each key once.
func ExampleResult_SetTag() {
	var out sdk.Result
	out.SetTag("acme.io/team", "pay")
	out.SetTag("acme.io/team", "billing")
	fmt.Println(out.Tags())
	// Output: [{acme.io/team billing}]
}
