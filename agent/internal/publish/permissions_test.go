package publish

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// deployDir holds the recommended NATS deployment: server config, users
// generator, stream definition.
const deployDir = "../../deploy/nats"

// fleet is a server started from deployDir's nats-server.conf with the
// users gen-users.sh writes for it, and the NKey seed file of each user.
type fleet struct {
	url   string
	seeds map[string]string // user name -> seed file
}

// startFleet runs the recommended deployment for agents host-a and host-b,
// subscriber watch and admin ops, on a random port.
func startFleet(t *testing.T) *fleet {
	t.Helper()
	dir := t.TempDir()
	f := &fleet{seeds: map[string]string{}}
	var list strings.Builder
	for _, u := range []struct{ role, name string }{{"agent", "host-a"}, {"agent", "host-b"}, {"subscriber", "watch"}, {"admin", "ops"}} {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := kp.Seed()
		pub, _ := kp.PublicKey()
		f.seeds[u.name] = filepath.Join(dir, u.name+".seed")
		if err := os.WriteFile(f.seeds[u.name], seed, 0o600); err != nil {
			t.Fatal(err)
		}
		list.WriteString(u.role + " " + u.name + " " + pub + "\n")
	}
	gen := exec.Command("sh", filepath.Join(deployDir, "gen-users.sh"), "proctag")
	gen.Stdin = strings.NewReader(list.String())
	users, err := gen.Output()
	if err != nil {
		t.Fatalf("gen-users.sh: %v", err)
	}
	conf, err := os.ReadFile(filepath.Join(deployDir, "nats-server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"proctag-users.conf": users, "nats-server.conf": conf} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats-server.conf"))
	if err != nil {
		t.Fatalf("example nats-server.conf: %v", err)
	}
	opts.StoreDir = filepath.Join(dir, "jetstream")
	f.url = startAuthServer(t, opts)
	return f
}

// connectAs connects with user's NKey, sending asynchronous errors (such
// as permission violations) to errs when it is not nil.
func (f *fleet) connectAs(t *testing.T, user string, errs chan<- error) *nats.Conn {
	t.Helper()
	seed, err := nats.NkeyOptionFromSeed(f.seeds[user])
	if err != nil {
		t.Fatal(err)
	}
	opts := []nats.Option{seed}
	if errs != nil {
		opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	}
	nc, err := nats.Connect(f.url, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// createStream creates the stream of stream.json, as an admin does once.
func (f *fleet) createStream(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc jetstream.StreamConfig
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatalf("stream.json: %v", err)
	}
	want := StreamConfig(snapshot.DefaultSubjectPrefix, StreamLimits(config.DefaultJetStreamLimits()))
	if sc.Name != want.Name || !slices.Equal(sc.Subjects, want.Subjects) || limitsOf(sc) != limitsOf(want) {
		t.Fatalf("stream.json (%s %v %+v) differs from the agent's defaults (%s %v %+v)",
			sc.Name, sc.Subjects, limitsOf(sc), want.Name, want.Subjects, limitsOf(want))
	}
	sc.Replicas = 1 // one test server, not the 3-node cluster
	js, err := jetstream.New(f.connectAs(t, "ops", nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(t.Context(), sc); err != nil {
		t.Fatal(err)
	}
}

// waitViolation waits for a permission violation naming subject.
func waitViolation(t *testing.T, errs <-chan error, subject string) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject) {
				return
			}
		case <-deadline.C:
			t.Fatalf("no permission violation for %s within %s", subject, waitLimit)
		}
	}
}

// TestRecommendedPermissions runs the deployment of agent/deploy/nats: each
// agent publishes its own host's state and nothing else, a subscriber reads
// (core NATS and the stream) and asks for resyncs but publishes no data,
// and what another host's or a subscriber's credentials try on host-a is
// refused by the server with a permissions violation.
func TestRecommendedPermissions(t *testing.T) {
	f := startFleet(t)
	f.createStream(t)

	p := startPublisher(t, Config{URL: f.url, NKeySeed: f.seeds["host-a"], JetStream: true, FullEvery: 100})
	s1 := host(1, proc(10, "nginx"))
	p.Submit(s1, snapshot.Stats{})
	waitCounter(t, p, "the first snapshot stored", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })

	stream := f.connectAs(t, "watch", nil)
	fromStream := startSubscriber(t, stream, natssub.Config{HostID: "host-a"})
	fromStream.waitState("host-a", s1)
	if !fromStream.sub.UsesJetStream() {
		t.Fatal("the subscriber could not use the stream")
	}
	core := startSubscriber(t, f.connectAs(t, "watch", nil), natssub.Config{HostID: "host-a", NoJetStream: true})
	core.waitState("host-a", s1) // by a resync request to host-a's agent
	if err := core.sub.RequestResync(t.Context(), "host-a"); err != nil {
		t.Fatalf("subscriber's resync request: %v", err)
	}

	forged := host(1, proc(666, "forged"))
	env := snapshot.Envelope{HostID: "host-a", Epoch: snapshot.NewEpoch(time.Now().Add(time.Hour)), Seq: 1, MsgID: 1, IntervalMS: 10000}
	enc, err := snapshot.NewEncoder("proctag", 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := enc.EncodeSnapshot(env, forged)
	if err != nil {
		t.Fatal(err)
	}
	forgedMsg := &nats.Msg{Subject: msgs[0].Subject, Header: nats.Header(msgs[0].Header), Data: msgs[0].Data}
	tests := []struct {
		name, user string
		// do tries the forbidden thing and returns the subject the server
		// must name in its refusal.
		do func(t *testing.T, nc *nats.Conn) string
	}{
		{"another host's agent publishes host-a's snapshot", "host-b", func(t *testing.T, nc *nats.Conn) string {
			if err := nc.PublishMsg(forgedMsg); err != nil {
				t.Fatal(err)
			}
			return forgedMsg.Subject
		}},
		{"another host's agent publishes host-a's heartbeat", "host-b", func(t *testing.T, nc *nats.Conn) string {
			subj := snapshot.Subject("proctag", "host-a", snapshot.KindHeartbeat)
			if err := nc.Publish(subj, []byte("{}")); err != nil {
				t.Fatal(err)
			}
			return subj
		}},
		{"another host's agent listens on host-a's control subject", "host-b", func(t *testing.T, nc *nats.Conn) string {
			subj := snapshot.ControlSubject("proctag", "host-a")
			if _, err := nc.Subscribe(subj, func(*nats.Msg) {}); err != nil {
				t.Fatal(err)
			}
			return subj
		}},
		{"another host's agent changes the stream", "host-b", func(t *testing.T, nc *nats.Conn) string {
			subj := "$JS.API.STREAM.UPDATE." + snapshot.StreamName("proctag")
			if err := nc.Publish(subj, []byte("{}")); err != nil {
				t.Fatal(err)
			}
			return subj
		}},
		{"a subscriber publishes host-a's snapshot", "watch", func(t *testing.T, nc *nats.Conn) string {
			if err := nc.PublishMsg(forgedMsg); err != nil {
				t.Fatal(err)
			}
			return forgedMsg.Subject
		}},
		{"a subscriber listens on host-a's control subject", "watch", func(t *testing.T, nc *nats.Conn) string {
			subj := snapshot.ControlSubject("proctag", "host-a")
			if _, err := nc.Subscribe(subj, func(*nats.Msg) {}); err != nil {
				t.Fatal(err)
			}
			return subj
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := make(chan error, 16)
			nc := f.connectAs(t, tt.user, errs)
			subject := tt.do(t, nc)
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			waitViolation(t, errs, subject)
		})
	}

	// A subscriber's wildcard does not bring it the control requests: one
	// is sent (and flushed) before host-b's heartbeat, on its own subject,
	// which arrives alone.
	raw := make(chan *nats.Msg, 16)
	rawConn := f.connectAs(t, "watch", nil)
	if _, err := rawConn.ChanSubscribe("proctag.v1.*.*", raw); err != nil {
		t.Fatal(err)
	}
	if err := rawConn.Flush(); err != nil {
		t.Fatal(err)
	}
	requester := f.connectAs(t, "watch", nil)
	if _, err := requester.Request(snapshot.ControlSubject("proctag", "host-a"), []byte(`{"op":"resync"}`), waitLimit); err != nil {
		t.Fatal(err)
	}
	hostB := f.connectAs(t, "host-b", nil)
	if err := hostB.Publish(snapshot.Subject("proctag", "host-b", snapshot.KindHeartbeat), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(waitLimit)
	for hb := false; !hb; {
		select {
		case m := <-raw:
			if strings.HasSuffix(m.Subject, ".control") {
				t.Fatalf("a subscriber received the control request on %s", m.Subject)
			}
			hb = m.Subject == snapshot.Subject("proctag", "host-b", snapshot.KindHeartbeat)
		case <-deadline:
			t.Fatalf("host-b's heartbeat did not arrive within %s", waitLimit)
		}
	}

	// host-a's agent goes on publishing: the subscribers get its next state
	// and never the forged one.
	s2 := host(2, proc(10, "nginx"), proc(11, "billing"))
	p.Submit(s2, snapshot.Stats{})
	for _, w := range []*watcher{fromStream, core} {
		w.waitState("host-a", s2)
		if got, _ := w.sub.State("host-a"); slices.ContainsFunc(got.Processes, func(p snapshot.Process) bool { return p.Name == "forged" }) {
			t.Fatal("a subscriber holds the forged state")
		}
		if info, _ := w.sub.Info("host-a"); info.Epoch != p.Epoch() || info.Refused != 0 {
			t.Fatalf("subscriber info %+v: the forged message reached it", info)
		}
	}
}
