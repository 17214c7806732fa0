package abi

import (
	"errors"
	"reflect"
	"testing"
)

func TestFieldsFromNames(t *testing.T) {
	tests := []struct {
		name    string
		names   []string
		want    Fields
		wantErr error
	}{
		{"none", nil, 0, nil},
		{"pid and argv", []string{"pid", "argv"}, FieldPID | FieldArgv, nil},
		{"every field by name", FieldsAll.Names(), FieldsAll, nil},
		{"duplicates are harmless", []string{"env", "env"}, FieldEnv, nil},
		{"unknown name", []string{"pid", "environ"}, 0, ErrUnknownField},
		{"names are case sensitive", []string{"PID"}, 0, ErrUnknownField},
		{"empty name", []string{""}, 0, ErrUnknownField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FieldsFromNames(tt.names)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("FieldsFromNames(%q) error = %v, want %v", tt.names, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("FieldsFromNames(%q) = %v, want %v", tt.names, got, tt.want)
			}
		})
	}
}

func TestFieldsUnknownNameError(t *testing.T) {
	_, err := FieldsFromNames([]string{"environ"})
	want := `record field "environ" is not one of pid,ppid,start_time,name,process_name,argv,exe,uid,user,container_id,cgroup,tags,env,cmdline`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestFieldsNamesAndHas(t *testing.T) {
	f := FieldCmdline | FieldPID | FieldTags
	if got, want := f.Names(), []string{"pid", "tags", "cmdline"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if !f.Has(FieldPID | FieldTags) {
		t.Error("Has(pid|tags) = false")
	}
	if f.Has(FieldPID | FieldEnv) {
		t.Error("Has(pid|env) = true")
	}
	if FieldsDefault != FieldPID|FieldName|FieldProcessName {
		t.Errorf("FieldsDefault is %v, want pid, name and process_name only", FieldsDefault)
	}
	if Fields(0).String() != "" {
		t.Errorf("empty set String() = %q", Fields(0).String())
	}
}
