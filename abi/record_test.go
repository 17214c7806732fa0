package abi

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// fullRecord has every field set, with values that need multi-byte varints.
func fullRecord() Record {
	return Record{
		PID:         4_194_304,
		PPID:        1,
		StartTime:   1_764_110_000_123,
		Name:        "billing",
		ProcessName: "java",
		Argv:        []string{"/usr/bin/java", "-Xmx1g", "-jar", "/srv/billing.jar"},
		Cmdline:     "/usr/bin/java -Xmx1g -jar /srv/billing.jar",
		Exe:         "/usr/lib/jvm/java-21/bin/java",
		UID:         1000,
		User:        "app",
		ContainerID: "4f2c9d8e0a1b",
		Cgroup:      "0::/system.slice/docker-4f2c9d8e0a1b.scope\n",
		Tags:        []Tag{{"team", "pay"}, {"env", ""}},
		Env:         []string{"JAVA_HOME=/usr/lib/jvm", "EMPTY="},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	full := fullRecord()
	tests := []struct {
		name    string
		rec     Record
		allowed Fields
		want    Record
	}{
		{
			name: "every field granted", rec: full, allowed: FieldsAll,
			want: withPresent(full, FieldsAll),
		},
		{
			name: "every field but env", rec: full, allowed: FieldsAll &^ FieldEnv,
			want: func() Record { r := withPresent(full, FieldsAll&^FieldEnv); r.Env = nil; return r }(),
		},
		{
			name: "default grant is pid and the names", rec: full, allowed: FieldsDefault,
			want: Record{PID: full.PID, Name: full.Name, ProcessName: full.ProcessName, Present: FieldsDefault},
		},
		{
			name: "only pid and name", rec: full, allowed: FieldPID | FieldName,
			want: Record{PID: full.PID, Name: full.Name, Present: FieldPID | FieldName},
		},
		{
			name: "zero scalars are present when granted", rec: Record{}, allowed: FieldPID | FieldName | FieldStartTime,
			want: Record{Present: FieldPID | FieldName | FieldStartTime},
		},
		{
			name: "empty repeated fields are absent", rec: Record{}, allowed: FieldArgv | FieldTags | FieldEnv,
			want: Record{},
		},
		{
			name: "negative start time survives zigzag", rec: Record{StartTime: -5}, allowed: FieldStartTime,
			want: Record{StartTime: -5, Present: FieldStartTime},
		},
		{
			name: "negative pid is written as zero", rec: Record{PID: -3}, allowed: FieldPID,
			want: Record{Present: FieldPID},
		},
		{
			name: "nothing granted encodes nothing", rec: full, allowed: 0,
			want: Record{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendRecord(nil, &tt.rec, tt.allowed)
			var got Record
			if err := DecodeRecord(b, &got); err != nil {
				t.Fatalf("DecodeRecord: %v", err)
			}
			assertRecord(t, got, tt.want)
		})
	}
}

func withPresent(r Record, f Fields) Record {
	r.Present = f
	r.Argv = append([]string(nil), r.Argv...)
	return r
}

// assertRecord compares records treating nil and empty slices alike.
func assertRecord(t *testing.T, got, want Record) {
	t.Helper()
	norm := func(r Record) Record {
		if len(r.Argv) == 0 {
			r.Argv = nil
		}
		if len(r.Tags) == 0 {
			r.Tags = nil
		}
		if len(r.Env) == 0 {
			r.Env = nil
		}
		return r
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("record mismatch\n got: %+v\nwant: %+v", g, w)
	}
}

func TestRecordEncodingBytes(t *testing.T) {
	// The example of ABI.md section 4, byte for byte.
	got := AppendRecord(nil, &Record{PID: 300, Name: "nginx"}, FieldPID|FieldName)
	want := []byte{0x01, 0x02, 0xac, 0x02, 0x04, 0x05, 'n', 'g', 'i', 'n', 'x'}
	if !bytes.Equal(got, want) {
		t.Errorf("AppendRecord = % x, want % x", got, want)
	}
}

func TestDecodeRecordSkipsUnknownFields(t *testing.T) {
	b := AppendRecord(nil, &Record{PID: 7}, FieldPID)
	b = appendString(b, 99, "from a newer minor")
	b = appendUint(b, 15, 12345)
	b = appendString(b, recName, "x")
	var r Record
	if err := DecodeRecord(b, &r); err != nil {
		t.Fatalf("DecodeRecord: %v", err)
	}
	assertRecord(t, r, Record{PID: 7, Name: "x", Present: FieldPID | FieldName})
}

func TestDecodeRecordLastScalarWins(t *testing.T) {
	b := appendString(nil, recName, "first")
	b = appendString(b, recName, "second")
	var r Record
	if err := DecodeRecord(b, &r); err != nil {
		t.Fatalf("DecodeRecord: %v", err)
	}
	if r.Name != "second" {
		t.Errorf("Name = %q, want second", r.Name)
	}
}

func TestDecodeRecordReusesAndClears(t *testing.T) {
	full := fullRecord()
	var r Record
	if err := DecodeRecord(AppendRecord(nil, &full, FieldsAll), &r); err != nil {
		t.Fatal(err)
	}
	argv := &r.Argv[:1][0]
	if err := DecodeRecord(AppendRecord(nil, &Record{Argv: []string{"sh"}}, FieldArgv), &r); err != nil {
		t.Fatal(err)
	}
	assertRecord(t, r, Record{Argv: []string{"sh"}, Present: FieldArgv})
	if &r.Argv[0] != argv {
		t.Error("Argv backing array was not reused")
	}
}

func TestDecodeRecordStringsOutliveInput(t *testing.T) {
	b := AppendRecord(nil, &Record{Name: "stable"}, FieldName)
	var r Record
	if err := DecodeRecord(b, &r); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if r.Name != "stable" {
		t.Errorf("Name = %q after the input changed, want stable", r.Name)
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"field id cut mid varint", []byte{0x80}, ErrTruncated},
		{"length missing", []byte{0x04}, ErrTruncated},
		{"length beyond input", []byte{0x04, 0x05, 'a'}, ErrTruncated},
		{"field id zero", []byte{0x00, 0x00}, ErrMalformed},
		{"integer field empty", []byte{0x01, 0x00}, ErrTruncated},
		{"integer with trailing byte", []byte{0x01, 0x02, 0x05, 0x00}, ErrMalformed},
		{"integer varint cut", []byte{0x01, 0x01, 0x80}, ErrTruncated},
		{"varint of 11 bytes", append(append([]byte{0x01, 0x0b}, bytes.Repeat([]byte{0x80}, 10)...), 0x01), ErrOverflow},
		{"varint above 64 bits", []byte{0x01, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, ErrOverflow},
		{"pid above max int", []byte{0x01, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrOverflow},
		{"tag body truncated", []byte{0x0c, 0x02, 0x01, 0x05}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			err := DecodeRecord(tt.in, &r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeRecord(% x) = %v, want %v", tt.in, err, tt.want)
			}
			if _, ok := errors.AsType[*DecodeError](err); !ok {
				t.Errorf("error %v is not a *DecodeError", err)
			}
		})
	}
}

func TestDecodeErrorText(t *testing.T) {
	var r Record
	err := DecodeRecord([]byte{0x01, 0x02, 0xac, 0x02, 0x04, 0x05, 'n'}, &r)
	want := "decode record field 4 at offset 4: truncated"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
