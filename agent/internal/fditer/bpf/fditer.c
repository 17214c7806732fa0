// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

// fditer lists the socket file descriptors of every process in one pass over the kernel's
// tasks: a task_file iterator (bpf_iter), whose program runs once per open file of each
// task. The kernel visits a file table shared by a process's threads once, and /proc/PID/fd
// shows the group leader's table, so only group leaders' files are reported, as a reader
// of /proc/PID/fd would find them. One fixed-size record per socket file descriptor goes
// to the iterator's seq_file; user space reads them from the iterator's file.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char __license[] SEC("license") = "Dual MIT/GPL";

// struct record is one socket file descriptor: the process (its global pid and its start
// time, the task's start_boottime in nanoseconds, from which /proc/PID/stat's start time
// in clock ticks is made), the descriptor and the socket's inode.
struct record {
	__u32 tgid;
	__u32 fd;
	__u64 start_ns;
	__u64 inode;
};

SEC("iter/task_file")
int socket_fds(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	if (!task || !file)
		return 0;
	if (task->pid != task->tgid)
		return 0;
	// A socket's file, not any file whose inode is a socket: an O_PATH
	// descriptor of a Unix socket's path has an S_IFSOCK inode of the file
	// system, which /proc/PID/fd shows as the path.
	if (!bpf_sock_from_file(file))
		return 0;
	struct inode *inode = file->f_inode;
	if (!inode)
		return 0;
	struct record r = {
		.tgid = task->tgid,
		.fd = ctx->fd,
		.start_ns = task->start_boottime,
		.inode = inode->i_ino,
	};
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
