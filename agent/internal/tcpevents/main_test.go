//go:build linux && (amd64 || arm64)

package tcpevents

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The live tests run the two ends of their connections in other processes, so that the
// owner the BPF program reports can be told apart from the test itself: TestMain doubles
// as those processes when TCPEVENTS_ROLE is set.
const (
	envRole  = "TCPEVENTS_ROLE"  // "server" or "client"
	envConns = "TCPEVENTS_CONNS" // connections to accept or dial
	envAddr  = "TCPEVENTS_ADDR"  // the server's address, for the client
)

// connLifetime is how long the client keeps each connection open.
const connLifetime = 20 * time.Millisecond

// clientParallel is how many connections the client has open at once.
const clientParallel = 10

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "server":
		os.Exit(runServer())
	case "client":
		os.Exit(runClient())
	}
	os.Exit(m.Run())
}

// runServer listens on a loopback port, prints it, accepts TCPEVENTS_CONNS connections in
// its main goroutine, reads each to EOF and closes it.
func runServer() int {
	n, err := strconv.Atoi(os.Getenv(envConns))
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 2
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 1
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	var wg sync.WaitGroup
	for range n {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			return 1
		}
		wg.Go(func() {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		})
	}
	wg.Wait()
	ln.Close()
	return 0
}

// runClient dials TCPEVENTS_ADDR TCPEVENTS_CONNS times, clientParallel at a time, keeps
// each connection for connLifetime, and prints the local port of each.
func runClient() int {
	n, err := strconv.Atoi(os.Getenv(envConns))
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 2
	}
	addr := os.Getenv(envAddr)
	ports := make(chan int, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, clientParallel)
	var wg sync.WaitGroup
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				errs <- err
				return
			}
			ports <- c.LocalAddr().(*net.TCPAddr).Port
			time.Sleep(connLifetime) // the connection's lifetime, not a synchronisation
			c.Close()
		})
	}
	wg.Wait()
	close(ports)
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	w := bufio.NewWriter(os.Stdout)
	for p := range ports {
		fmt.Fprintln(w, p)
	}
	w.Flush()
	return 0
}
