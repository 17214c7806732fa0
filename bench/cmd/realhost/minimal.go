package main

import (
	"bytes"
	"strconv"

	"golang.org/x/sys/unix"
)

// minimal is the least a reader of what the agent reports can do, in raw
// system calls and reused buffers: list /proc, read each process's stat
// and cmdline, its ns/net link and every fd link, and the four socket
// tables once per network namespace (through its first process), taking
// only the inode column of each row, joined into inode -> pids. No
// parsing beyond that, no rules, no output: the floor that system calls
// and the kernel's formatting set. It returns the processes read and the
// sockets that have an owner.
func minimal(root string) (procs, socks int, err error) {
	dirfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(dirfd)
	pids, err := listDir(dirfd)
	if err != nil {
		return 0, 0, err
	}
	buf := make([]byte, 64<<10)
	link := make([]byte, 256)
	owners := make(map[uint64][]int)
	netns := make(map[string]bool)
	var inodes []uint64
	for _, pid := range pids {
		p := strconv.Itoa(pid)
		if readFile(dirfd, p+"/stat", buf) < 0 {
			continue // exited
		}
		readFile(dirfd, p+"/cmdline", buf)
		procs++
		if n, err := unix.Readlinkat(dirfd, p+"/ns/net", link); err == nil && !netns[string(link[:n])] {
			netns[string(link[:n])] = true
			for _, t := range []string{"/net/tcp", "/net/tcp6", "/net/udp", "/net/udp6"} {
				inodes = tableInodes(dirfd, p+t, buf, inodes[:0])
				for _, ino := range inodes {
					if _, ok := owners[ino]; !ok {
						owners[ino] = nil
					}
				}
			}
		}
		fdfd, err := unix.Openat(dirfd, p+"/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		fds, _ := listDir(fdfd)
		for _, fd := range fds {
			n, err := unix.Readlinkat(fdfd, strconv.Itoa(fd), link)
			if err != nil || !bytes.HasPrefix(link[:n], []byte("socket:[")) {
				continue
			}
			ino, err := strconv.ParseUint(string(link[8:n-1]), 10, 64)
			if err != nil {
				continue
			}
			if o, ok := owners[ino]; ok {
				owners[ino] = append(o, pid)
			}
		}
		unix.Close(fdfd)
	}
	for _, o := range owners {
		if len(o) > 0 {
			socks++
		}
	}
	return procs, socks, nil
}

// listDir returns the numeric names in the directory dirfd.
func listDir(dirfd int) ([]int, error) {
	var out []int
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(dirfd, buf)
		if err != nil {
			return out, err
		}
		if n <= 0 {
			return out, nil
		}
		for b := buf[:n]; len(b) > 0; {
			reclen := int(b[16]) | int(b[17])<<8
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if v, err := strconv.Atoi(string(name)); err == nil {
				out = append(out, v)
			}
			b = b[reclen:]
		}
	}
}

// readFile reads path under dirfd into buf, over and over while it
// fills it, and returns the bytes of its last read, -1 when it cannot be
// opened.
func readFile(dirfd int, path string, buf []byte) int {
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n < len(buf) {
			return n
		}
	}
}

// tableInodes appends the inode column (the tenth) of each row of the
// socket table at path under dirfd.
func tableInodes(dirfd int, path string, buf []byte, out []uint64) []uint64 {
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return out
	}
	defer unix.Close(fd)
	var carry []byte
	header := true
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			return out
		}
		data := append(carry, buf[:n]...)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			line := data[:i]
			data = data[i+1:]
			if header {
				header = false
				continue
			}
			if f := bytes.Fields(line); len(f) > 9 {
				if ino, err := strconv.ParseUint(string(f[9]), 10, 64); err == nil {
					out = append(out, ino)
				}
			}
		}
		carry = append(carry[:0], data...)
	}
}
