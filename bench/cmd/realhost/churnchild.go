package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// serve listens on 127.0.0.1 (a random port), writes "ready PID PORT",
// and accepts until stdin closes, closing each accepted connection at EOF
// or after linger, whichever comes first.
func serve(linger time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("ready %d %d\n", os.Getpid(), ln.Addr().(*net.TCPAddr).Port)
	go func() {
		<-stdinClosed()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(linger))
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}()
	}
}

// dialTick is how often dial catches up with its rate.
const dialTick = 5 * time.Millisecond

// dial writes "ready PID", then connects to addr rate times a second
// until stdin closes, holds each connection for linger and closes it. It
// writes a line per connection, "conn LOCALPORT OPENED_MS CLOSED_MS"
// (unix ms), and at the end "done MADE ERRORS".
func dial(addr string, rate int, linger time.Duration) error {
	if addr == "" {
		return errors.New("-child-client needs -child-addr")
	}
	stop := stdinClosed()
	fmt.Printf("ready %d\n", os.Getpid())
	lines := make(chan string, 4096)
	written := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for l := range lines {
			_, _ = w.WriteString(l)
		}
		written <- w.Flush()
	}()
	var wg sync.WaitGroup
	var made, failed int
	var firstErr error
	start := time.Now()
	t := time.NewTicker(dialTick)
	defer t.Stop()
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-t.C:
		}
		// Catch up with the connections due so far, so that a late tick
		// does not lower the rate.
		for due := int(time.Since(start).Seconds() * float64(rate)); made+failed < due; {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				if failed++; firstErr == nil {
					firstErr = err
				}
				continue
			}
			made++
			opened := time.Now().UnixMilli()
			port := c.LocalAddr().(*net.TCPAddr).Port
			wg.Add(1)
			time.AfterFunc(linger, func() {
				defer wg.Done()
				c.Close()
				lines <- fmt.Sprintf("conn %d %d %d\n", port, opened, time.Now().UnixMilli())
			})
		}
	}
	wg.Wait()
	lines <- fmt.Sprintf("done %d %d\n", made, failed)
	close(lines)
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "realhost client: %d of %d dials failed, first: %v\n", failed, made+failed, firstErr)
	}
	return <-written
}
