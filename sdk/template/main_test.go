package main

import (
	"reflect"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk"
)

// The handler is a plain function: test it natively on sdk types. To run
// the built module under wazero as the agent does, see sdk/sdktest.
func TestHandle(t *testing.T) {
	if err := configure([]byte("payments\n")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { team = "" })
	tests := []struct {
		name        string
		processName string
		want        []abi.Tag
	}{
		{"java", "java", []abi.Tag{{Key: "example.com/lang", Value: "java"}, {Key: "example.com/team", Value: "payments"}}},
		{"python3.12", "python3.12", []abi.Tag{{Key: "example.com/lang", Value: "python"}, {Key: "example.com/team", Value: "payments"}}},
		{"unknown", "nginx", []abi.Tag{{Key: "example.com/team", Value: "payments"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out sdk.Result
			handle(&sdk.Process{Record: abi.Record{ProcessName: tt.processName}}, &out)
			if !reflect.DeepEqual(out.Tags(), tt.want) {
				t.Errorf("tags = %v, want %v", out.Tags(), tt.want)
			}
		})
	}
}

func TestConfigureRefusesSeveralLines(t *testing.T) {
	if err := configure([]byte("a\nb")); err == nil {
		t.Error("configure accepted two lines")
	}
}
