// Package natscluster starts a real nats-server cluster inside the calling
// process, for tests and benchmarks: by default three servers with routes
// to each other on loopback, random ports, one cluster name and JetStream
// clustered over all three (each server with its own store directory). It
// waits on the servers' own state (routes up, a JetStream meta leader) with
// deadlines, never by sleeping, and can stop a server and start it again
// on the same ports and store, so that a test can take a node away under
// running clients.
//
// It owns the servers' options, start-up, readiness and shutdown. What is
// published on the cluster belongs to package publish and its subscribers.
// Production code never imports it (the layering test says so): the agent
// connects to an operator's cluster or runs package natsembed.
package natscluster
