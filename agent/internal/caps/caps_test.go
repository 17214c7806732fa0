package caps

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseAndString(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Cap
		wantErr bool
	}{
		{name: "systemd spelling", in: "CAP_SYS_PTRACE", want: SysPtrace},
		{name: "setpriv spelling", in: "dac_read_search", want: DACReadSearch},
		{name: "mixed case", in: "Cap_SetUid", want: SetUID},
		{name: "unknown", in: "CAP_MAKE_COFFEE", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if err == nil && !strings.EqualFold("CAP_"+strings.TrimPrefix(strings.ToUpper(tt.in), "CAP_"), got.String()) {
				t.Fatalf("%v.String() = %q does not round-trip %q", got, got.String(), tt.in)
			}
		})
	}
	if got := Cap(63).String(); got != "CAP_63" {
		t.Errorf("unknown capability prints as %q, want CAP_63", got)
	}
}

func TestSet(t *testing.T) {
	s := Of(SysPtrace, DACReadSearch)
	tests := []struct {
		name        string
		set         Set
		has         []Cap
		wantHas     bool
		wantMissing []Cap
		wantString  string
	}{
		{name: "both present", set: s, has: []Cap{SysPtrace, DACReadSearch}, wantHas: true, wantString: "CAP_DAC_READ_SEARCH,CAP_SYS_PTRACE"},
		{name: "one missing", set: s, has: []Cap{SetUID, SysPtrace, SetGID}, wantMissing: []Cap{SetUID, SetGID}, wantString: "CAP_DAC_READ_SEARCH,CAP_SYS_PTRACE"},
		{name: "empty set", set: 0, has: []Cap{SysPtrace}, wantMissing: []Cap{SysPtrace}, wantString: "none"},
		{name: "nothing asked", set: 0, has: nil, wantHas: true, wantString: "none"},
		{name: "high word", set: Of(unix.CAP_BPF), has: []Cap{unix.CAP_BPF}, wantHas: true, wantString: "CAP_BPF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.Has(tt.has...); got != tt.wantHas {
				t.Errorf("Has(%v) = %v, want %v", tt.has, got, tt.wantHas)
			}
			if got := tt.set.Missing(tt.has...); !slices.Equal(got, tt.wantMissing) {
				t.Errorf("Missing(%v) = %v, want %v", tt.has, got, tt.wantMissing)
			}
			if got := tt.set.String(); got != tt.wantString {
				t.Errorf("String() = %q, want %q", got, tt.wantString)
			}
		})
	}
}

// TestCurrentMatchesProcStatus compares capget with what the kernel shows
// in /proc/self/status.
func TestCurrentMatchesProcStatus(t *testing.T) {
	s, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field string
		got   Set
	}{{"CapEff", s.Effective}, {"CapPrm", s.Permitted}, {"CapInh", s.Inheritable}} {
		if want := statusSet(t, string(status), c.field); c.got != want {
			t.Errorf("%s: capget says %v, /proc/self/status %v", c.field, c.got, want)
		}
	}
}

// statusSet parses the hex mask of field from a /proc/PID/status text.
func statusSet(t *testing.T, status, field string) Set {
	t.Helper()
	for line := range strings.Lines(status) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return Set(n)
		}
	}
	t.Fatalf("no %s in status", field)
	return 0
}

// TestDropInheritable raises CAP_SYS_PTRACE into the inheritable and
// ambient sets of a locked thread, starts a child that reports its sets,
// drops them and starts another: the first child inherits the ambient
// capability, the second nothing.
func TestDropInheritable(t *testing.T) {
	s, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if !s.Effective.Has(unix.CAP_SETPCAP, SysPtrace) {
		t.Skip("needs CAP_SETPCAP and CAP_SYS_PTRACE to raise an ambient capability")
	}
	// The child's /proc/self/status before and after the drop, parsed on
	// the test goroutine.
	var before, after []byte
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the changed thread ends with the goroutine
		done <- func() error {
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if err := unix.Capget(&hdr, &data[0]); err != nil {
				return err
			}
			data[0].Inheritable |= 1 << SysPtrace
			if err := unix.Capset(&hdr, &data[0]); err != nil {
				return err
			}
			if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(SysPtrace), 0, 0); err != nil {
				return err
			}
			var err error
			if before, err = exec.Command("/bin/cat", "/proc/self/status").Output(); err != nil {
				return err
			}
			if err := DropInheritable(); err != nil {
				return err
			}
			after, err = exec.Command("/bin/cat", "/proc/self/status").Output()
			return err
		}()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	type sets struct{ inh, amb Set }
	parse := func(status []byte) sets {
		return sets{statusSet(t, string(status), "CapInh"), statusSet(t, string(status), "CapAmb")}
	}
	b, a := parse(before), parse(after)
	if want := Of(SysPtrace); b.inh != want || b.amb != want {
		t.Fatalf("before the drop the child had inheritable %v, ambient %v; want %v in both (the test's setup failed)", b.inh, b.amb, want)
	}
	if a.inh != 0 || a.amb != 0 {
		t.Errorf("after DropInheritable the child has inheritable %v, ambient %v; want none", a.inh, a.amb)
	}
	if s2, _ := Current(); s2 != s {
		t.Errorf("the test goroutine's sets changed from %+v to %+v: the drop leaked to another thread", s, s2)
	}
}
