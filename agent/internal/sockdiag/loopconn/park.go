package loopconn

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// maxRights is how many descriptors one SCM_RIGHTS message carries
// (SCM_MAX_FD, include/net/scm.h).
const maxRights = 253

// parking holds descriptors in flight: sent with SCM_RIGHTS into unix
// socket pairs that nobody reads, then closed by the sender. The files
// stay open, and the TCP connections established, without a slot in the
// descriptor table, so one process can hold more sockets than its
// RLIMIT_NOFILE. Past that many descriptors in flight the kernel wants
// CAP_SYS_ADMIN or CAP_SYS_RESOURCE (too_many_unix_fds, net/unix).
type parking struct {
	// pairs are the socket pairs: pairs[i] sends, pairs[i+1] holds the
	// queue.
	pairs []int
	n     int
}

// park sends fds in flight and closes them, even on error.
func (k *parking) park(fds []int) error {
	var err error
	for len(fds) > 0 && err == nil {
		chunk := fds[:min(len(fds), maxRights)]
		if len(k.pairs) == 0 {
			err = k.grow()
			continue
		}
		serr := unix.Sendmsg(k.pairs[len(k.pairs)-2], []byte{0}, unix.UnixRights(chunk...), nil, unix.MSG_DONTWAIT)
		switch serr {
		case nil:
			k.n += len(chunk)
			for _, fd := range chunk {
				unix.Close(fd)
			}
			fds = fds[len(chunk):]
		case unix.EAGAIN, unix.ENOBUFS: // this pair's queue is full
			err = k.grow()
		case unix.EINTR:
		default:
			err = fmt.Errorf("park descriptors: %w", serr)
		}
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	return err
}

// grow adds a socket pair.
func (k *parking) grow() error {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket pair for parking: %w", err)
	}
	k.pairs = append(k.pairs, sp[0], sp[1])
	return nil
}

// close closes the socket pairs, which closes the parked descriptors.
func (k *parking) close() error {
	var errs []error
	for _, fd := range k.pairs {
		errs = append(errs, unix.Close(fd))
	}
	k.pairs, k.n = nil, 0
	return errors.Join(errs...)
}
