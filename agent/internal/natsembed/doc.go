// Package natsembed runs a nats-server inside the agent's process, so that
// `proctag run` publishes on a bare host with no NATS installation and
// `proctag watch` or any NATS client can connect to it.
//
// It owns the server's options, start-up (an address another process
// holds fails at once with ErrAddrInUse; otherwise a ready deadline),
// logging through hclog (the server's banner at debug level) and
// shutdown. What is published on it belongs to package publish; tests
// across proctag use it to get a real server on a random port.
package natsembed
