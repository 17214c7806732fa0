package natscluster

import "testing"

// StartTB starts a cluster for a test or benchmark, failing it when the
// cluster does not come up, and closes the cluster when it ends. With
// opts.StoreDir "", the stores go under tb.TempDir().
func StartTB(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	if opts.StoreDir == "" {
		opts.StoreDir = tb.TempDir()
	}
	c, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}
