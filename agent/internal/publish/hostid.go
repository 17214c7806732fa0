package publish

import (
	"os"
	"path/filepath"
	"strings"
)

// HostID returns the host id used in subjects and messages: configured when
// not empty, else the content of <root>/etc/machine-id, else the host name,
// else "unknown"; sanitised so it is one NATS subject token of letters,
// digits, '-' and '_' (every other character becomes '_'). root is the file
// system root, "/" outside tests.
func HostID(configured, root string) string {
	id := strings.TrimSpace(configured)
	if id == "" {
		if b, err := os.ReadFile(filepath.Join(root, "etc", "machine-id")); err == nil {
			id = strings.TrimSpace(string(b))
		}
	}
	if id == "" {
		if h, err := os.Hostname(); err == nil {
			id = h
		}
	}
	if id == "" {
		return "unknown"
	}
	return sanitize(id)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
