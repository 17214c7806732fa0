package fditer

// The BPF object and its Go loader are generated from bpf/fditer.c by bpf2go and
// committed, so that building and testing need no clang; `make generate` rebuilds them
// (it writes ../tcpevents/bpf/vmlinux.h from the running kernel's BTF first).
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -go-package fditer -target bpfel fditer bpf/fditer.c -- -I ../tcpevents/bpf -Wall -Werror
