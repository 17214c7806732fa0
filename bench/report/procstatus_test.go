package report

import "testing"

func TestParseHWM(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
		err          bool
	}{
		{"present", "Name:\tcat\nVmPeak:\t    8000 kB\nVmHWM:\t    1936 kB\nVmRSS:\t    1936 kB\n", 1936 << 10, false},
		{"missing", "Name:\tkthreadd\nThreads:\t1\n", 0, true},
		{"other unit", "VmHWM:\t1936 MB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHWM([]byte(tt.status))
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("got %d, %v; want %d, error: %v", got, err, tt.want, tt.err)
			}
		})
	}
}
