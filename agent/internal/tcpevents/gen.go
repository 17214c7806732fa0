package tcpevents

// The BPF object and its Go loader are generated from bpf/tcpevents.c by bpf2go and
// committed, so that building and testing need no clang; `make generate` rebuilds them
// (it writes bpf/vmlinux.h from the running kernel's BTF first).
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -go-package tcpevents -target bpfel -type event tcpevents bpf/tcpevents.c -- -I bpf -Wall -Werror
