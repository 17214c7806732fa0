package runner

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/caps"
	"github.com/proctag/proctag/agent/internal/scan"
)

// NoticeUnseen logs, once, what the agent cannot see of the real procfs at
// procRoot for lack of CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH (scan.Unseen
// says what), so that a non-root agent's operator knows at start why other
// users' sockets are missing. It says nothing when the capabilities are
// there (root has them) or when procRoot is not a procfs (a generated
// tree). Run calls it; one-shot commands call it before their tick.
func NoticeUnseen(procRoot string, logger hclog.Logger) {
	var fs unix.Statfs_t
	if err := unix.Statfs(procRoot, &fs); err != nil || fs.Type != unix.PROC_SUPER_MAGIC {
		return
	}
	s, err := caps.Current()
	if err != nil {
		logger.Warn("cannot read the agent's capabilities, assuming none", "error", err)
	}
	msg, missing := scan.Unseen(s.Effective)
	if msg == "" {
		return
	}
	logger.Warn(msg, "missing", caps.Of(missing...).String(), "uid", os.Geteuid(),
		"hint", "run as root or grant them (systemd: AmbientCapabilities=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH, as proctag.service does)")
}
