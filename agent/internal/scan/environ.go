package scan

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// ReadEnviron returns the environment of process pid under root
// (/proc/PID/environ split on NUL, empty strings removed), for plugins
// granted the environment. The scanner never reads it. A process that has
// exited gives an error matching fs.ErrNotExist; without the right to read
// it (not root, another user's process) an error matching
// fs.ErrPermission. The result must not be logged.
func ReadEnviron(root string, pid int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "environ"))
	if err != nil {
		return nil, fmt.Errorf("read environ of pid %d: %w", pid, err)
	}
	return ParseCmdline(b), nil
}
