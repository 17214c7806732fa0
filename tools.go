//go:build tools

// Package tools pins the modules that proctag's packages are built on while
// they are being written, so that `go mod tidy` keeps them.
package tools

import (
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/procfs"
	_ "github.com/spf13/cobra"
	_ "github.com/tetratelabs/wazero"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sys/unix"
	_ "gopkg.in/yaml.v3"
)
