package natsembed

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats-server/v2/server"
)

// DefaultListen is the address the embedded server listens on by default:
// loopback only, the standard NATS port.
const DefaultListen = "127.0.0.1:4222"

// Config describes an embedded server. The zero value listens on
// DefaultListen without JetStream and waits up to 10 s for readiness.
type Config struct {
	// Listen is host:port for client connections; "" is DefaultListen. Port
	// 0 or -1 picks a free port (tests); read it back with ClientURL.
	Listen string
	// JetStream enables JetStream, storing in StoreDir (required then).
	JetStream bool
	StoreDir  string
	// MaxPayloadBytes is the largest message (headers plus data) the server
	// accepts; 0 is the NATS default of 1 MiB.
	MaxPayloadBytes int32
	// ServerName names the server in its logs and monitoring; default
	// "proctag-embedded".
	ServerName string
	// ReadyTimeout bounds the wait for the server to accept connections;
	// default 10 s.
	ReadyTimeout time.Duration
}

// ErrAddrInUse is Start's error (wrapped, with the address) when another
// process already listens on Config.Listen: typically a NATS server or a
// second agent on the default 127.0.0.1:4222. Start returns it at once
// rather than after ReadyTimeout.
var ErrAddrInUse = errors.New("address already in use")

// readyPoll is how long one readiness check waits before Start looks for
// a fatal error of the server again.
const readyPoll = 50 * time.Millisecond

// Server is a running embedded nats-server. Its methods are safe for
// concurrent use.
type Server struct {
	ns     *server.Server
	logger hclog.Logger
}

// Start starts the server and returns once it accepts client connections,
// or an error: at once when it cannot listen (ErrAddrInUse when the
// address is taken) or the server stops with a fatal error, else when it is
// not ready within ReadyTimeout.
func Start(cfg Config, logger hclog.Logger) (*Server, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	logger = logger.Named("natsembed")
	opts, err := options(cfg)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
	if opts.Port > 0 {
		if err := probe(addr); err != nil {
			return nil, err
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats server on %s: %w", addr, err)
	}
	adapter := &logAdapter{l: logger, fatal: make(chan string, 1)}
	ns.SetLoggerV2(adapter, logger.IsDebug(), logger.IsTrace(), false)
	ns.Start()
	timeout := cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for !ns.ReadyForConnections(readyPoll) {
		var err error
		select {
		case msg := <-adapter.fatal:
			err = fmt.Errorf("embedded nats server on %s: %s", addr, msg)
			if strings.Contains(msg, "address already in use") {
				err = fmt.Errorf("embedded nats server: listen %s: %w", addr, ErrAddrInUse)
			}
		default:
			if time.Now().After(deadline) {
				err = fmt.Errorf("embedded nats server on %s: not ready within %s", addr, timeout)
			}
		}
		if err != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, err
		}
	}
	adapter.ready.Store(true)
	select {
	case msg := <-adapter.fatal: // between the last check and ready
		logger.Error("nats server fatal", "detail", msg)
	default:
	}
	logger.Info("embedded nats server ready", "url", ns.ClientURL(), "jetstream", cfg.JetStream)
	return &Server{ns: ns, logger: logger}, nil
}

// probe listens on addr and closes at once, so that a taken or forbidden
// address is an immediate, precise error: nats-server itself only logs it
// from its accept loop.
func probe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("embedded nats server: listen %s: %w", addr, ErrAddrInUse)
	}
	if err != nil {
		return fmt.Errorf("embedded nats server: %w", err)
	}
	return ln.Close()
}

func options(cfg Config) (*server.Options, error) {
	listen := cfg.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("embedded nats server: listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < -1 || port > 65535 {
		return nil, fmt.Errorf("embedded nats server: listen %q: port is not a number from 0 to 65535", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if cfg.JetStream && cfg.StoreDir == "" {
		return nil, errors.New("embedded nats server: jetstream needs a store directory")
	}
	name := cfg.ServerName
	if name == "" {
		name = "proctag-embedded"
	}
	return &server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		NoSigs:     true,
		MaxPayload: cfg.MaxPayloadBytes,
		JetStream:  cfg.JetStream,
		StoreDir:   cfg.StoreDir,
		// No HTTP monitoring, no cluster, no leaf nodes: a local broker only.
	}, nil
}

// ClientURL is the nats:// URL clients connect to, with the real port when
// a random one was asked for.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Addr is the client listener's address.
func (s *Server) Addr() net.Addr { return s.ns.Addr() }

// Shutdown stops the server, closing client connections, and waits until it
// is down. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// logAdapter routes the server's printf-style logs to hclog with a constant
// message; the server's text goes under the "detail" key. Its notices (the
// start-up banner: version, name, ports, JetStream settings) are debug
// lines: the agent logs one line of its own when the server is ready. The
// first fatal message before the server is ready goes to fatal instead,
// for Start to return.
type logAdapter struct {
	l     hclog.Logger
	fatal chan string
	ready atomic.Bool
}

func (a *logAdapter) Noticef(format string, v ...any) {
	if a.l.IsDebug() {
		a.l.Debug("nats server", "detail", fmt.Sprintf(format, v...))
	}
}

func (a *logAdapter) Warnf(format string, v ...any) {
	a.l.Warn("nats server", "detail", fmt.Sprintf(format, v...))
}

func (a *logAdapter) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if !a.ready.Load() {
		select {
		case a.fatal <- msg:
			return
		default: // Start has one already
		}
	}
	a.l.Error("nats server fatal", "detail", msg)
}

func (a *logAdapter) Errorf(format string, v ...any) {
	a.l.Error("nats server", "detail", fmt.Sprintf(format, v...))
}

func (a *logAdapter) Debugf(format string, v ...any) {
	if a.l.IsDebug() {
		a.l.Debug("nats server", "detail", fmt.Sprintf(format, v...))
	}
}

func (a *logAdapter) Tracef(format string, v ...any) {
	if a.l.IsTrace() {
		a.l.Trace("nats server", "detail", fmt.Sprintf(format, v...))
	}
}
