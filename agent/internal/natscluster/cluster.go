package natscluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options describes a cluster. The zero value is three servers named
// "proctag-test-0" to "-2" in the cluster "proctag-test", with JetStream,
// stores in a new temporary directory, and 30 s for each wait.
type Options struct {
	// Nodes is the number of servers; default 3. JetStream needs a
	// majority of them up to change anything (create a stream, elect a
	// leader).
	Nodes int
	// Name is the cluster name, also the prefix of the server names
	// (<name>-<i>); default "proctag-test".
	Name string
	// StoreDir holds one JetStream store directory per server, node-<i>;
	// "" is a new temporary directory that Close removes.
	StoreDir string
	// NoJetStream runs the servers without JetStream (core NATS routes
	// only).
	NoJetStream bool
	// MaxPayloadBytes is the largest message the servers accept; 0 is the
	// NATS default of 1 MiB.
	MaxPayloadBytes int32
	// ReadyTimeout bounds each wait of Start and Restart for the servers to
	// accept connections, route to each other and agree on a JetStream
	// meta leader; default 30 s.
	ReadyTimeout time.Duration
	// Logger receives every server's log (notices, warnings, errors; no
	// debug or trace); nil discards it.
	Logger server.Logger
}

// Cluster is a running set of routed nats-servers. A server's index (0 to
// Nodes-1) names it in every method; its client and route ports stay the
// same across Kill and Restart. Its methods are safe for concurrent use.
type Cluster struct {
	opts    Options
	tempDir string // removed by Close; "" when StoreDir was given

	mu     sync.Mutex
	nodes  []*node
	closed bool
}

// node is one server: its ports, fixed at Start, and the running server,
// nil while it is down.
type node struct {
	name        string
	storeDir    string
	clientPort  int
	clusterPort int
	srv         *server.Server
}

// Start starts the servers and returns once each accepts client
// connections, routes to all the others and (with JetStream) knows the
// meta leader, or an error after stopping what it started. Close stops
// the cluster.
func Start(opts Options) (*Cluster, error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.Name == "" {
		opts.Name = "proctag-test"
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	c := &Cluster{opts: opts}
	if opts.StoreDir == "" {
		dir, err := os.MkdirTemp("", "natscluster-")
		if err != nil {
			return nil, fmt.Errorf("natscluster: %w", err)
		}
		c.tempDir, c.opts.StoreDir = dir, dir
	}
	// Both ports of every server are chosen before any server starts: each
	// server's routes name all the others, and a server comes back on the
	// same ports after Restart.
	ports, err := freePorts(2 * opts.Nodes)
	if err != nil {
		c.Close()
		return nil, err
	}
	for i := range opts.Nodes {
		c.nodes = append(c.nodes, &node{
			name:        fmt.Sprintf("%s-%d", opts.Name, i),
			storeDir:    filepath.Join(c.opts.StoreDir, fmt.Sprintf("node-%d", i)),
			clientPort:  ports[2*i],
			clusterPort: ports[2*i+1],
		})
	}
	for i := range c.nodes {
		if err := c.startNode(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// freePorts returns n distinct free loopback ports: it listens on n random
// ports at once and closes them. Another process could take one before the
// server does; the server then fails to start and says which address.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("natscluster: free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// serverOptions are node i's options, new for every start (a server keeps
// and amends the options it was given).
func (c *Cluster) serverOptions(i int) *server.Options {
	n := c.nodes[i]
	var routes []*url.URL
	for _, o := range c.nodes { // its own route too: the server detects and skips it
		routes = append(routes, &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.clusterPort))})
	}
	return &server.Options{
		ServerName: n.name,
		Host:       "127.0.0.1",
		Port:       n.clientPort,
		NoSigs:     true,
		NoLog:      c.opts.Logger == nil,
		MaxPayload: c.opts.MaxPayloadBytes,
		JetStream:  !c.opts.NoJetStream,
		StoreDir:   n.storeDir,
		Cluster: server.ClusterOpts{
			Name: c.opts.Name,
			Host: "127.0.0.1",
			Port: n.clusterPort,
		},
		Routes: routes,
	}
}

// startNode starts node i and waits until it accepts client connections.
func (c *Cluster) startNode(i int) error {
	n := c.nodes[i]
	srv, err := server.NewServer(c.serverOptions(i))
	if err != nil {
		return fmt.Errorf("natscluster: %s: %w", n.name, err)
	}
	if c.opts.Logger != nil {
		srv.SetLoggerV2(c.opts.Logger, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(c.opts.ReadyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return fmt.Errorf("natscluster: %s not accepting connections on 127.0.0.1:%d (route port %d) within %s",
			n.name, n.clientPort, n.clusterPort, c.opts.ReadyTimeout)
	}
	c.mu.Lock()
	n.srv = srv
	c.mu.Unlock()
	return nil
}

// ErrClosed is returned by Kill and Restart after Close.
var ErrClosed = errors.New("natscluster: closed")

// Kill shuts server i down, closing its client and route connections, and
// returns once it is down; clients connected to it reconnect to the others
// when they know them. JetStream on the remaining servers elects new
// leaders for what server i led, when a majority is left (WaitReady waits
// for the meta leader). Killing a server that is down does nothing.
func (c *Cluster) Kill(i int) error {
	if err := c.lockNode(i); err != nil {
		return err
	}
	srv := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	return nil
}

// Restart starts server i again, on its ports and with its store, and
// returns once the running servers are fully routed and agree on a meta
// leader (WaitReady), within ReadyTimeout. Restarting a running server
// does nothing.
func (c *Cluster) Restart(i int) error {
	if err := c.lockNode(i); err != nil {
		return err
	}
	running := c.nodes[i].srv != nil
	c.mu.Unlock()
	if running {
		return nil
	}
	if err := c.startNode(i); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.ReadyTimeout)
	defer cancel()
	return c.WaitReady(ctx)
}

// lockNode locks c.mu for a change to server i and returns nil, or
// returns ErrClosed after Close or checkIndex's error with c.mu unlocked.
func (c *Cluster) lockNode(i int) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if err := c.checkIndex(i); err != nil {
		c.mu.Unlock()
		return err
	}
	return nil
}

func (c *Cluster) checkIndex(i int) error {
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("natscluster: no server %d (the cluster has %d)", i, len(c.nodes))
	}
	return nil
}

// Close shuts every server down and removes the temporary store directory
// Start made. It is safe to call more than once.
func (c *Cluster) Close() {
	c.mu.Lock()
	c.closed = true
	var srvs []*server.Server
	for _, n := range c.nodes {
		if n.srv != nil {
			srvs = append(srvs, n.srv)
			n.srv = nil
		}
	}
	c.mu.Unlock()
	for _, srv := range srvs {
		srv.Shutdown()
	}
	for _, srv := range srvs {
		srv.WaitForShutdown()
	}
	if c.tempDir != "" {
		_ = os.RemoveAll(c.tempDir)
	}
}

// Nodes is the number of servers, running or not.
func (c *Cluster) Nodes() int { return len(c.nodes) }

// URL is server i's client URL (nats://127.0.0.1:port); it stays valid
// while the server is down, for when it comes back.
func (c *Cluster) URL(i int) string {
	return "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(c.nodes[i].clientPort))
}

// URLs are the client URLs of all servers, in index order.
func (c *Cluster) URLs() []string {
	urls := make([]string, len(c.nodes))
	for i := range c.nodes {
		urls[i] = c.URL(i)
	}
	return urls
}

// ClientURL is URLs joined with commas, the form nats.Connect and the
// agent's nats.url take: a client given it reconnects to another server
// when its own goes away.
func (c *Cluster) ClientURL() string { return strings.Join(c.URLs(), ",") }

// Server is server i, nil while it is down. The caller must not shut it
// down (Kill does).
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// Running reports whether server i is up.
func (c *Cluster) Running(i int) bool { return c.Server(i) != nil }

// running returns the servers that are up and their indexes.
func (c *Cluster) running() ([]*server.Server, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var srvs []*server.Server
	var idx []int
	for i, n := range c.nodes {
		if n.srv != nil {
			srvs = append(srvs, n.srv)
			idx = append(idx, i)
		}
	}
	return srvs, idx
}
