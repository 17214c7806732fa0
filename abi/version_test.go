package abi

import "testing"

func TestVersion(t *testing.T) {
	if Version() != 0x00010000 {
		t.Errorf("Version() = %#x, want 0x00010000", Version())
	}
	major, minor := SplitVersion(0x00020003)
	if major != 2 || minor != 3 {
		t.Errorf("SplitVersion(0x00020003) = %d, %d", major, minor)
	}
}

func TestPackResult(t *testing.T) {
	tests := []struct {
		name    string
		v       int64
		ptr, n  uint32
		success bool
	}{
		{"typical", PackResult(0x10000, 42), 0x10000, 42, true},
		{"unchanged", PackResult(0, 0), 0, 0, true},
		{"highest pointer below 2 GiB", PackResult(0x7fffffff, 0xffffffff), 0x7fffffff, 0xffffffff, true},
		{"bad input", CodeBadInput, 0, 0, false},
		{"internal", CodeInternal, 0, 0, false},
		{"other negative", -77, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ptr, n, ok := UnpackResult(tt.v)
			if ptr != tt.ptr || n != tt.n || ok != tt.success {
				t.Errorf("UnpackResult(%#x) = %#x, %d, %v; want %#x, %d, %v", tt.v, ptr, n, ok, tt.ptr, tt.n, tt.success)
			}
		})
	}
}

func TestLogLevelString(t *testing.T) {
	tests := []struct {
		l    LogLevel
		want string
	}{
		{LevelError, "error"}, {LevelWarn, "warn"}, {LevelInfo, "info"}, {LevelDebug, "debug"}, {0, "info"}, {9, "info"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.l.String(); got != tt.want {
				t.Errorf("LogLevel(%d).String() = %q, want %q", tt.l, got, tt.want)
			}
		})
	}
}
