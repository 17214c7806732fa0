// Package waitfor is the tests' one way to wait for a condition that no
// event announces (a counter moved by another goroutine, a connection
// state): poll it until it holds, failing the test at a deadline. It owns
// nothing else; tests that wait for timers use testing/synctest instead,
// and tests that can wait on a channel select on it.
package waitfor
