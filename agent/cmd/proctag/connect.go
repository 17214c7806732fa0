package main

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/proctag/proctag/agent/internal/config"
)

// natsFlags are the flags of the commands that follow the agents on NATS
// (map, watch): where the server is, the agents' subject prefix and the
// subscriber's credentials.
type natsFlags struct {
	url, prefix, creds, nkeySeed string
}

// add defines --server, --prefix, --creds and --nkey-seed on cmd.
func (f *natsFlags) add(cmd *cobra.Command) {
	def := config.Default().NATS
	cmd.Flags().StringVarP(&f.url, "server", "s", "nats://"+def.EmbeddedListen, "NATS server URL")
	cmd.Flags().StringVar(&f.prefix, "prefix", def.SubjectPrefix, "the agents' nats.subject-prefix")
	cmd.Flags().StringVar(&f.creds, "creds", "", "NATS credentials (JWT + NKey) file")
	cmd.Flags().StringVar(&f.nkeySeed, "nkey-seed", "", "NATS NKey seed file (a subscriber of agent/deploy/nats)")
}

// connect connects to --server with opts and the credentials of --creds
// or --nkey-seed (not both).
func (f *natsFlags) connect(opts ...nats.Option) (*nats.Conn, error) {
	if f.creds != "" && f.nkeySeed != "" {
		return nil, fmt.Errorf("--creds and --nkey-seed are both set; use one")
	}
	switch {
	case f.creds != "":
		opts = append(opts, nats.UserCredentials(f.creds))
	case f.nkeySeed != "":
		o, err := nats.NkeyOptionFromSeed(f.nkeySeed)
		if err != nil {
			return nil, fmt.Errorf("--nkey-seed %s: %w", f.nkeySeed, err)
		}
		opts = append(opts, o)
	}
	nc, err := nats.Connect(f.url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", f.url, err)
	}
	return nc, nil
}
