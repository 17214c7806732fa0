package abi_test

import (
	"fmt"

	"github.com/proctag/proctag/abi"
)

// The host encodes what a plugin may see; the guest decodes it. Fields the
// plugin is not granted never cross.
func Example() {
	grant, err := abi.FieldsFromNames([]string{"pid", "process_name", "argv"})
	if err != nil {
		panic(err)
	}
	proc := abi.Record{PID: 412, ProcessName: "java", Argv: []string{"java", "-jar", "app.jar"}, Env: []string{"SECRET=1"}}
	wire := abi.AppendRecord(nil, &proc, grant)

	var seen abi.Record
	if err := abi.DecodeRecord(wire, &seen); err != nil {
		panic(err)
	}
	fmt.Println(seen.PID, seen.ProcessName, seen.Argv, len(seen.Env))
	fmt.Println("present:", seen.Present)
	// Output:
	// 412 java [java -jar app.jar] 0
	// present: pid,process_name,argv
}

// A guest answers with a Result; an empty Result is zero bytes ("unchanged").
func ExampleAppendResult() {
	var res abi.Result
	fmt.Println(len(abi.AppendResult(nil, &res)))

	res.Rename, res.HasRename = "app", true
	res.SetTags = append(res.SetTags, abi.Tag{Key: "acme.io/team", Value: "pay"})
	out := abi.AppendResult(nil, &res)

	var got abi.Result
	if err := abi.DecodeResult(out, &got); err != nil {
		panic(err)
	}
	fmt.Println(got.Rename, got.SetTags)
	// Output:
	// 0
	// app [{acme.io/team pay}]
}

// A batch result lists only the records that changed, by index.
func ExampleDecodeBatchResult() {
	out := abi.AppendBatchResult(nil, []abi.IndexedResult{
		{Index: 2, Result: abi.Result{Drop: true}},
	})
	err := abi.DecodeBatchResult(out, func(ir abi.IndexedResult) error {
		fmt.Println("record", ir.Index, "drop", ir.Result.Drop)
		return nil
	})
	fmt.Println(err)
	// Output:
	// record 2 drop true
	// <nil>
}

// A host that keeps each record's encoding (to see whether it changed)
// frames the kept bytes into a batch without encoding them again.
func ExampleAppendBatchRecord() {
	recs := []abi.Record{{PID: 7, Name: "nginx"}, {PID: 8, Name: "java"}}
	var kept [][]byte
	for i := range recs {
		kept = append(kept, abi.AppendRecord(nil, &recs[i], abi.FieldPID|abi.FieldName))
	}
	var batch []byte
	for _, rec := range kept {
		batch = abi.AppendBatchRecord(batch, rec)
	}
	err := abi.DecodeBatch(batch, func(i int, r *abi.Record) error {
		fmt.Println(i, r.PID, r.Name)
		return nil
	})
	fmt.Println(err)
	// Output:
	// 0 7 nginx
	// 1 8 java
	// <nil>
}

// The i64 a process export returns is a location or a negative code.
func ExampleUnpackResult() {
	for _, v := range []int64{abi.PackResult(65536, 12), abi.CodeBadInput} {
		ptr, n, ok := abi.UnpackResult(v)
		fmt.Println(ptr, n, ok)
	}
	// Output:
	// 65536 12 true
	// 0 0 false
}

// A manifest naming a field that does not exist gets an error listing the
// allowed names.
func ExampleFieldsFromNames() {
	_, err := abi.FieldsFromNames([]string{"pid", "environment"})
	fmt.Println(err)
	// Output:
	// record field "environment" is not one of pid,ppid,start_time,name,process_name,argv,exe,uid,user,container_id,cgroup,tags,env,cmdline
}
