package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// subProc is a subscriber child as the parent sees it: requests go to its
// stdin, answers come from its stdout, one JSON line each.
type subProc struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *bufio.Reader
	started time.Time
	ready   readyAnswer

	mu sync.Mutex // one request at a time
}

// startSub starts the binary self as a subscriber child connected to urls
// (the first preferred) and waits for its ready line, within timeout.
func startSub(self, name, urls, network, profiles string, sockets int, timeout time.Duration) (*subProc, error) {
	args := []string{childFlag, "-url", urls, "-name", name, "-network", network, "-sockets", strconv.Itoa(sockets)}
	if profiles != "" {
		args = append(args, "-cpuprofile", filepath.Join(profiles, strings.ReplaceAll(name, " ", "-")+".prof"))
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &subProc{name: name, cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(stdout, 1<<20), started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ready := make(chan error, 1)
	go func() { ready <- p.read(&p.ready) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err = <-ready:
	case <-t.C:
		err = fmt.Errorf("no ready line within %v", timeout)
	}
	if err == nil && p.ready.Error != "" {
		err = errors.New(p.ready.Error)
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// read decodes the next answer line into v.
func (p *subProc) read(v any) error {
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("%s: answer: %w", p.name, err)
	}
	return json.Unmarshal(line, v)
}

// ask sends cmd and decodes the answer into v.
func (p *subProc) ask(cmd string, v any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		return fmt.Errorf("%s: %s: %w", p.name, cmd, err)
	}
	return p.read(v)
}

// state asks for every host's view.
func (p *subProc) state() (stateAnswer, error) {
	var a stateAnswer
	err := p.ask(cmdState, &a)
	return a, err
}

// hosts asks for every host's seq and sync, without digests.
func (p *subProc) hosts() (stateAnswer, error) {
	var a stateAnswer
	err := p.ask(cmdHosts, &a)
	return a, err
}

// stats asks for the child's usage and bytes received.
func (p *subProc) stats() (statsAnswer, error) {
	var a statsAnswer
	err := p.ask(cmdStats, &a)
	return a, err
}

// stop closes the child's stdin and waits for it to exit, killing it
// after 30 s.
func (p *subProc) stop() error {
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		_ = p.cmd.Process.Kill()
		return <-done
	}
}
