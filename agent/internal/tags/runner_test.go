package tags

import (
	"bytes"
	"context"
	"errors"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// scriptDir is a temporary directory that the command's user (nobody when
// the tests run as root) can enter and write to.
func scriptDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir makes 0700 directories: open the test's one and ours.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeScript writes an executable /bin/sh script into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// runUser is the user the commands run as: nobody when root, so that the
// credential switch is exercised, else the current user.
func runUser(t *testing.T) string {
	t.Helper()
	if os.Geteuid() == 0 {
		return "nobody"
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func newTestRunner(t *testing.T, cfg Config) *Runner {
	t.Helper()
	if cfg.User == "" {
		cfg.User = runUser(t)
	}
	r, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return r
}

// processDead reports whether pid has exited: gone from /proc, or a zombie
// waiting for a reaper (this machine's pid 1 does not reap orphans).
func processDead(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	waitfor.Until(t, 10*time.Second, func() bool { return processDead(pid) }, "process %d still alive", pid)
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the script did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    map[int]Entry
		wantErr string
	}{
		{
			name: "success",
			body: "cat <<'EOF'\n- pid: 1\n  tags:\n  - key: app\n    value: billing\nEOF\n",
			want: map[int]Entry{1: {Tags: []Tag{{"app", "billing"}}}},
		},
		{
			name: "duplicate pid keeps the last",
			body: "echo '- {pid: 2, tags: [{key: a, value: old}]}'\necho '- {pid: 2, tags: [{key: a, value: new}]}'\n",
			want: map[int]Entry{2: {Tags: []Tag{{"a", "new"}}}},
		},
		{
			name: "empty tags list is tagged",
			body: "echo '- {pid: 3, tags: []}'\n",
			want: map[int]Entry{3: {Tags: []Tag{}}},
		},
		{
			name: "no output is no tags",
			body: "exit 0\n",
			want: map[int]Entry{},
		},
		{
			name:    "bad yaml",
			body:    "echo '- pid: [oops'\n",
			wantErr: "parse tag output",
		},
		{
			name:    "non-zero exit with stderr",
			body:    "echo 'cmdb unreachable' >&2\necho 'second line' >&2\nexit 3\n",
			wantErr: `exit status 3; stderr: "cmdb unreachable | second line"`,
		},
		{
			name:    "killed by a signal",
			body:    "kill -TERM $$\n",
			wantErr: "signal: terminated",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := scriptDir(t)
			path := writeScript(t, dir, "tags.sh", tt.body)
			r := newTestRunner(t, Config{Command: []string{path}})
			got, err := r.Run(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run() error = %v, want one containing %q", err, tt.wantErr)
				}
				if !got.Stale || got.ByPID != nil {
					t.Fatalf("Run() = %+v, want a stale empty result", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if got.Stale || got.Ran.IsZero() {
				t.Fatalf("Run() = %+v, want fresh with Ran set", got)
			}
			if !reflect.DeepEqual(got.ByPID, tt.want) {
				t.Fatalf("Run().ByPID = %#v, want %#v", got.ByPID, tt.want)
			}
		})
	}
}

func TestRunKeepsPreviousResultOnFailure(t *testing.T) {
	dir := scriptDir(t)
	mode := filepath.Join(dir, "mode")
	// The script's behaviour is chosen by the test through a file.
	path := writeScript(t, dir, "tags.sh", `case "$(cat `+mode+`)" in
good) echo '- {pid: 10, tags: [{key: app, value: web}]}' ;;
fail) echo 'no cmdb' >&2; exit 1 ;;
bad) echo 'pid: [' ;;
empty) ;;
esac
`)
	setMode := func(m string) {
		t.Helper()
		if err := os.WriteFile(mode, []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newTestRunner(t, Config{Command: []string{path}})
	setMode("good")
	first, err := r.Run(t.Context())
	if err != nil {
		t.Fatalf("first Run() error = %v", err)
	}
	for _, m := range []string{"fail", "bad"} {
		setMode(m)
		got, err := r.Run(t.Context())
		if err == nil {
			t.Fatalf("Run() in mode %s succeeded", m)
		}
		if !got.Stale || !got.Ran.Equal(first.Ran) || !reflect.DeepEqual(got.ByPID, first.ByPID) {
			t.Fatalf("Run() in mode %s = %+v, want the first result marked stale", m, got)
		}
	}
	setMode("empty")
	got, err := r.Run(t.Context())
	if err != nil || got.Stale || len(got.ByPID) != 0 {
		t.Fatalf("Run() after empty output = %+v, %v, want fresh and empty", got, err)
	}
}

func TestRunTimeoutKillsTheGroup(t *testing.T) {
	dir := scriptDir(t)
	pidFile := filepath.Join(dir, "child")
	path := writeScript(t, dir, "hang.sh", "sleep 1000 &\necho $! > "+pidFile+"\nwait\n")
	r := newTestRunner(t, Config{Command: []string{path}, Timeout: 2 * time.Second})
	got, err := r.Run(t.Context())
	if !errors.Is(err, errTimeout) {
		t.Fatalf("Run() error = %v, want a timeout", err)
	}
	if !got.Stale {
		t.Fatalf("Run() = %+v, want stale", got)
	}
	waitDead(t, readPID(t, pidFile))
}

func TestRunKillsLeftoversAfterExit(t *testing.T) {
	dir := scriptDir(t)
	pidFile := filepath.Join(dir, "child")
	// The background sleep keeps stdout open; Run must neither wait for it
	// nor leave it running.
	path := writeScript(t, dir, "daemon.sh", "sleep 1000 &\necho $! > "+pidFile+"\necho '[]'\n")
	r := newTestRunner(t, Config{Command: []string{path}, Timeout: time.Minute})
	if _, err := r.Run(t.Context()); err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	waitDead(t, readPID(t, pidFile))
}

func TestRunCancelledContext(t *testing.T) {
	dir := scriptDir(t)
	pidFile := filepath.Join(dir, "self")
	path := writeScript(t, dir, "hang.sh", "echo $$ > "+pidFile+"\nexec sleep 1000\n")
	r := newTestRunner(t, Config{Command: []string{path}, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx)
		done <- err
	}()
	// The shell creates the file before it writes the pid into it: wait
	// for the whole line.
	waitfor.Until(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(pidFile)
		return err == nil && bytes.HasSuffix(b, []byte("\n"))
	}, "the script never wrote its pid")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() error = %v, want context.Canceled", err)
	}
	waitDead(t, readPID(t, pidFile))
}

func TestRunOutputCap(t *testing.T) {
	dir := scriptDir(t)
	path := writeScript(t, dir, "flood.sh", "exec yes -- '- {pid: 1, tags: []}'\n")
	r := newTestRunner(t, Config{Command: []string{path}, MaxOutputBytes: 4096, Timeout: time.Minute})
	_, err := r.Run(t.Context())
	if !errors.Is(err, errOutputOver) || !strings.Contains(err.Error(), ": output over 4096 bytes") {
		t.Fatalf("Run() error = %v, want output over 4096 bytes", err)
	}
}

func TestRunAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	dir := scriptDir(t)
	path := writeScript(t, dir, "id.sh", `echo "- {pid: 1, tags: [{key: uid, value: '$(id -u)'}, {key: gid, value: '$(id -g)'}, {key: groups, value: '$(id -G)'}]}"`+"\n")
	r := newTestRunner(t, Config{Command: []string{path}, User: "nobody"})
	got, err := r.Run(t.Context())
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	want := []Tag{{"uid", u.Uid}, {"gid", u.Gid}, {"groups", u.Gid}}
	if !reflect.DeepEqual(got.ByPID[1].Tags, want) {
		t.Fatalf("the command ran with %v, want %v", got.ByPID[1].Tags, want)
	}
}

func TestRunArgvIsLiteral(t *testing.T) {
	dir := scriptDir(t)
	argsFile := filepath.Join(dir, "args")
	path := writeScript(t, dir, "args.sh", `printf '%s\0' "$@" > `+argsFile+"\necho '[]'\n")
	args := []string{"two words", "$(id)", "; rm -rf /", "*", "`uname`", "'single'", `"double"`, "a|b", "&&", "$HOME", "line\nbreak", ""}
	r := newTestRunner(t, Config{Command: append([]string{path}, args...)})
	if _, err := r.Run(t.Context()); err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if !reflect.DeepEqual(got, args) {
		t.Fatalf("the command got %q, want %q", got, args)
	}
}

func TestRunProcessSetup(t *testing.T) {
	t.Setenv("PROCTAG_TEST_SECRET", "must-not-leak")
	dir := scriptDir(t)
	out := filepath.Join(dir, "out")
	path := writeScript(t, dir, "setup.sh", `{
cat /proc/$$/environ; echo
readlink /proc/$$/fd/0
cut -d' ' -f5 /proc/$$/stat
echo $$
} > `+out+"\necho '[]'\n")
	r := newTestRunner(t, Config{Command: []string{path}})
	if _, err := r.Run(t.Context()); err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 {
		t.Fatalf("script output %q, want 4 lines", b)
	}
	tests := []struct{ what, got, want string }{
		{"environment", lines[0], "PATH=" + execPath + "\x00"},
		{"stdin", lines[1], "/dev/null"},
		{"process group", lines[2], lines[3]},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.what, tt.got, tt.want)
		}
	}
}

func TestRunLooksUpBareNamesInItsOwnPath(t *testing.T) {
	dir := scriptDir(t)
	data := filepath.Join(dir, "tags.yaml")
	if err := os.WriteFile(data, []byte("- {pid: 4, tags: [{key: k, value: v}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/nonexistent")
	r := newTestRunner(t, Config{Command: []string{"cat", data}})
	got, err := r.Run(t.Context())
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if len(got.ByPID[4].Tags) != 1 {
		t.Fatalf("Run() = %+v, want pid 4 tagged", got)
	}
	r = newTestRunner(t, Config{Command: []string{"proctag-no-such-program"}})
	if _, err := r.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Run() error = %v, want not found", err)
	}
}

// fakeUsers is a user database of root, its alias toor (uid 0), nobody
// and agent (uid 1000).
func fakeUsers(name string) (*user.User, error) {
	for _, u := range []user.User{
		{Username: "root", Uid: "0", Gid: "0"},
		{Username: "toor", Uid: "0", Gid: "0"},
		{Username: "nobody", Uid: "65534", Gid: "65534"},
		{Username: "agent", Uid: "1000", Gid: "1000"},
	} {
		if u.Username == name || u.Uid == name {
			return &u, nil
		}
	}
	return nil, user.UnknownUserError(name)
}

func TestNew(t *testing.T) {
	var (
		root     = privileges{euid: 0, setID: true}
		rootNoID = privileges{euid: 0}
		capped   = privileges{euid: 1000, setID: true}
		plain    = privileges{euid: 1000}
	)
	tests := []struct {
		name    string
		cfg     Config
		priv    privileges
		wantErr string
		wantLog string
		wantUID int // -1: runs as the agent's user, no switch
	}{
		{name: "missing user", cfg: Config{Command: []string{"/bin/true"}, User: "proctag-no-such-user"}, priv: root, wantErr: `os-app-tag-exec-user: "proctag-no-such-user": user: unknown user`},
		{name: "empty user", cfg: Config{Command: []string{"/bin/true"}}, priv: root, wantErr: "os-app-tag-exec-user: empty"},
		{name: "empty program", cfg: Config{Command: []string{""}, User: "nobody"}, priv: root, wantErr: "program (first element) is empty"},
		{name: "negative timeout", cfg: Config{Command: []string{"/bin/true"}, User: "nobody", Timeout: -time.Second}, priv: root, wantErr: "os-app-tag-exec-timeout"},
		{name: "root switches to the user", cfg: Config{Command: []string{"/bin/true"}, User: "nobody"}, priv: root, wantUID: 65534},
		{name: "numeric uid", cfg: Config{Command: []string{"/bin/true"}, User: "65534"}, priv: root, wantUID: 65534},
		{name: "non-root with CAP_SETUID and CAP_SETGID switches", cfg: Config{Command: []string{"/bin/true"}, User: "nobody"}, priv: capped, wantUID: 65534},
		{name: "non-root without them warns once", cfg: Config{Command: []string{"/bin/true"}, User: "proctag-no-such-user"}, priv: plain, wantLog: "without CAP_SETUID and CAP_SETGID", wantUID: -1},
		{name: "non-root as its own user is quiet", cfg: Config{Command: []string{"/bin/true"}, User: "agent"}, priv: plain, wantUID: -1},
		{name: "root without the capabilities never falls back to root", cfg: Config{Command: []string{"/bin/true"}, User: "nobody"}, priv: rootNoID, wantErr: `cannot switch to "nobody"`},
		{name: "root without the capabilities runs root when told", cfg: Config{Command: []string{"/bin/true"}, User: "root"}, priv: rootNoID, wantUID: -1},
		{name: "root written as root", cfg: Config{Command: []string{"/bin/true"}, User: "root"}, priv: root, wantUID: 0},
		{name: "root written as 0", cfg: Config{Command: []string{"/bin/true"}, User: "0"}, priv: capped, wantUID: 0},
		{name: "an alias of uid 0 is refused", cfg: Config{Command: []string{"/bin/true"}, User: "toor"}, priv: root, wantErr: `"toor" is uid 0; write root`},
		{name: "disabled needs no user", cfg: Config{}, priv: plain, wantUID: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := hclog.New(&hclog.LoggerOptions{Output: &logs})
			tt.priv.lookup, tt.priv.lookupID = fakeUsers, fakeUsers
			r, err := newRunner(tt.cfg, logger, tt.priv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			if got := strings.Count(logs.String(), "[WARN]"); (tt.wantLog != "") != (got == 1) || !strings.Contains(logs.String(), tt.wantLog) {
				t.Fatalf("logs = %q, want %d warning containing %q", logs.String(), min(len(tt.wantLog), 1), tt.wantLog)
			}
			switch {
			case tt.wantUID < 0 && r.cred != nil:
				t.Fatalf("runner switches to uid %d, want the agent's user", r.cred.Uid)
			case tt.wantUID >= 0 && (r.cred == nil || int(r.cred.Uid) != tt.wantUID):
				t.Fatalf("runner credential = %+v, want uid %d", r.cred, tt.wantUID)
			}
		})
	}
}

func TestDisabledRunner(t *testing.T) {
	var nilRunner *Runner
	for name, r := range map[string]*Runner{"nil": nilRunner, "zero": {}, "no command": newTestRunner(t, Config{})} {
		got, err := r.Run(t.Context())
		if err != nil || !reflect.DeepEqual(got, Result{}) {
			t.Errorf("%s runner: Run() = %+v, %v, want an empty result", name, got, err)
		}
	}
}
