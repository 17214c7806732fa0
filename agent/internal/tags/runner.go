package tags

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/caps"
)

const (
	// DefaultTimeout is the run time limit when Config.Timeout is zero
	// (config key os-app-tag-exec-timeout).
	DefaultTimeout = 5 * time.Second
	// DefaultMaxOutputBytes is the stdout cap when Config.MaxOutputBytes is
	// zero.
	DefaultMaxOutputBytes = 4 << 20
	// execPath is the whole environment of the command: PATH and nothing
	// else, never the agent's own environment.
	execPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Config says what to run. The zero value is a disabled tag source.
type Config struct {
	// Command is os-app-tag-exec: the argv, run directly, never through a
	// shell. A name without '/' is looked up in execPath at each run. Empty
	// disables the tag source.
	Command []string
	// User is os-app-tag-exec-user, a user name (or a numeric uid) the
	// command runs as when the agent is root or has CAP_SETUID and
	// CAP_SETGID: uid, primary gid and the user's supplementary groups.
	// DeepFlow sets only the uid. Without those capabilities the command
	// runs as the agent's user, with one warning. A user of uid 0 must be
	// written root (or 0). Required with Command (the config's default is
	// deepflow).
	User string
	// Timeout bounds one run; zero means DefaultTimeout. On expiry the
	// command's whole process group is killed.
	Timeout time.Duration
	// MaxOutputBytes caps stdout; zero means DefaultMaxOutputBytes. More
	// output kills the command and fails the run.
	MaxOutputBytes int
}

// Result is what one Run gives the rules step.
type Result struct {
	// ByPID holds the tagged pids. It is shared with later stale results:
	// treat it as read-only.
	ByPID map[int]Entry
	// Stale is true when this run failed and ByPID is the last successful
	// run's (nil if none succeeded yet).
	Stale bool
	// Ran is when the run that produced ByPID started; zero if none did.
	Ran time.Time
}

// Runner runs the tag command once per tick and remembers the last good
// result. Its zero value and a nil *Runner are disabled runners. A Runner is
// not safe for concurrent use: the tick loop owns it.
type Runner struct {
	argv     []string
	cred     *syscall.Credential
	timeout  time.Duration
	maxBytes int
	logger   hclog.Logger
	last     Result
}

// New validates cfg and resolves the user once, so that a missing user is a
// start-up error rather than one per tick. An empty Command gives a Runner
// whose Run returns an empty Result. logger is used as given (the caller
// names it, e.g. logger.Named("tags")) and may be nil.
//
// The command runs as cfg.User when the agent can switch users: as root,
// or as another user with CAP_SETUID and CAP_SETGID (the systemd unit's
// tag-exec drop-in grants them). Without them it runs as the agent's own
// user, with one warning, and a root agent without them is an error: the
// command never runs as root unless cfg.User says root (or 0).
func New(cfg Config, logger hclog.Logger) (*Runner, error) {
	p := privileges{euid: os.Geteuid(), lookup: user.Lookup, lookupID: user.LookupId}
	if s, err := caps.Current(); err == nil {
		p.setID = s.Effective.Has(caps.SetUID, caps.SetGID)
	}
	return newRunner(cfg, logger, p)
}

// privileges is what newRunner asks of the system, so that tests can
// check every branch whoever runs them.
type privileges struct {
	// euid is the agent's effective uid.
	euid int
	// setID is true when CAP_SETUID and CAP_SETGID are effective.
	setID bool
	// lookup and lookupID read the user database (os/user's).
	lookup, lookupID func(string) (*user.User, error)
}

// newRunner is New with the system's answers as a parameter.
func newRunner(cfg Config, logger hclog.Logger, p privileges) (*Runner, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("os-app-tag-exec-timeout: %s is negative", cfg.Timeout)
	}
	if cfg.MaxOutputBytes < 0 {
		return nil, fmt.Errorf("os-app-tag-exec output cap: %d bytes is negative", cfg.MaxOutputBytes)
	}
	r := &Runner{
		argv:     append([]string(nil), cfg.Command...),
		timeout:  cfg.Timeout,
		maxBytes: cfg.MaxOutputBytes,
		logger:   logger,
	}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	if r.maxBytes == 0 {
		r.maxBytes = DefaultMaxOutputBytes
	}
	if len(r.argv) == 0 {
		return r, nil
	}
	if r.argv[0] == "" {
		return nil, errors.New("os-app-tag-exec: the program (first element) is empty")
	}
	if cfg.User == "" {
		return nil, errors.New("os-app-tag-exec-user: empty; name the user os-app-tag-exec runs as (DeepFlow runs nothing then)")
	}
	if !p.setID {
		if p.euid == 0 && isRoot(cfg.User) {
			logger.Info("os-app-tag-exec runs as root, as os-app-tag-exec-user says")
			return r, nil
		}
		if p.euid == 0 {
			return nil, fmt.Errorf("os-app-tag-exec-user: the agent is root without CAP_SETUID and CAP_SETGID, so it cannot switch to %q (and does not run the command as root instead)", cfg.User)
		}
		if cred, err := credential(cfg.User, p); err != nil || int(cred.Uid) != p.euid {
			logger.Warn("without CAP_SETUID and CAP_SETGID, os-app-tag-exec runs as the agent's user",
				"want_user", cfg.User, "uid", p.euid, "hint", "run as root or grant them (systemd: the tag-exec.conf drop-in adds them to AmbientCapabilities= and CapabilityBoundingSet=)")
		}
		return r, nil
	}
	cred, err := credential(cfg.User, p)
	if err != nil {
		return nil, fmt.Errorf("os-app-tag-exec-user: %w", err)
	}
	if cred.Uid == 0 {
		if !isRoot(cfg.User) {
			return nil, fmt.Errorf("os-app-tag-exec-user: %q is uid 0; write root to run the command as root", cfg.User)
		}
		logger.Info("os-app-tag-exec runs as root, as os-app-tag-exec-user says")
	}
	r.cred = cred
	return r, nil
}

// isRoot reports whether the operator asked for root in so many words.
func isRoot(name string) bool { return name == "root" || name == "0" }

// credential looks name up in the user database: uid, primary gid and
// supplementary groups (none is a valid, empty list that clears the
// agent's groups).
func credential(name string, p privileges) (*syscall.Credential, error) {
	u, err := p.lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if _, numErr := strconv.Atoi(name); numErr == nil && errors.As(err, &unknown) {
			u, err = p.lookupID(name)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", name, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%q: gid %q: %w", name, u.Gid, err)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("%q: groups: %w", name, err)
	}
	groups := make([]uint32, 0, len(ids))
	for _, id := range ids {
		g, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q: group %q: %w", name, id, err)
		}
		groups = append(groups, uint32(g))
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, nil
}

// Run runs the command once and parses its output. On success it returns
// the fresh result. On failure (the program cannot start, exits non-zero or
// by a signal, times out, writes more than the cap, or prints bad YAML) it
// returns the error, which names the program (never its arguments) and
// carries the first lines of its stderr, together with the previous
// successful result marked Stale: DeepFlow drops all tags for that tick,
// proctag keeps the last good ones, so the caller logs once and goes on.
// A cancelled ctx stops the command the same way as a timeout.
func (r *Runner) Run(ctx context.Context) (Result, error) {
	if r == nil || len(r.argv) == 0 {
		return Result{}, nil
	}
	start := time.Now()
	out, err := r.execute(ctx)
	if err == nil {
		var byPID map[int]Entry
		if byPID, err = Parse(out); err == nil {
			r.last = Result{ByPID: byPID, Ran: start}
			if r.logger.IsDebug() {
				r.logger.Debug("tag exec done", "pids", len(byPID), "bytes", len(out), "took", time.Since(start))
			}
			return r.last, nil
		}
	}
	stale := r.last
	stale.Stale = true
	return stale, fmt.Errorf("os-app-tag-exec %s: %w", r.argv[0], err)
}
