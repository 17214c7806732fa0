package fakeproc

import (
	"strconv"
	"strings"
)

// StatFields are the fields of /proc/PID/stat that Proc does not carry
// elsewhere, named as in man 5 proc. pid (1), comm (2), state (3), ppid (4),
// num_threads (20) and starttime (22) come from Proc.
type StatFields struct {
	PGRP, Session, TTYNr, TPGID int
	Flags                       uint64
	MinFlt, CMinFlt             uint64
	MajFlt, CMajFlt             uint64
	UTime, STime                uint64
	CUTime, CSTime              int64
	Priority, Nice              int64
	ItRealValue                 int64
	VSize                       uint64
	RSS                         int64
	RSSLim                      uint64
	// Tail are fields 26 (startcode) to 52 (exit_code), in order.
	Tail [27]uint64
}

// defaultStat returns fields typical of a sleeping user process or, for a
// kernel thread (nil Argv and no RawCmdline), of a kworker.
func defaultStat(p *Proc) StatFields {
	if p.Argv == nil && p.RawCmdline == "" {
		f := StatFields{TPGID: -1, Flags: 0x208040, Priority: 20, RSSLim: ^uint64(0)}
		f.Tail[33-26] = 2147483647 // sigignore
		f.Tail[35-26] = 1          // wchan
		f.Tail[39-26] = uint64(p.PID % 2)
		return f
	}
	f := StatFields{
		PGRP: p.PID, Session: p.PID, TPGID: -1, Flags: 4194560,
		MinFlt: 512, UTime: 3, STime: 1, Priority: 20,
		VSize: 12 << 20, RSS: 900, RSSLim: ^uint64(0),
	}
	base := uint64(0x55d0_0000_0000) + uint64(p.PID)<<20
	stack := uint64(0x7ffd_0000_0000) + uint64(p.PID)<<16
	copy(f.Tail[:], []uint64{
		base, base + 0x5000, stack, 0, 0, // startcode endcode startstack kstkesp kstkeip
		0, 0, 0, 16386, // signal blocked sigignore sigcatch
		1, 0, 0, 17, uint64(p.PID % 2), 0, 0, 0, 0, 0, // wchan .. cguest_time
		base + 0x7000, base + 0x8000, base + 0x100000, // start_data end_data start_brk
		stack + 0x1000, stack + 0x1010, stack + 0x1010, stack + 0x1fe0, 0, // arg_start arg_end env_start env_end exit_code
	})
	return f
}

// AppendStat appends the /proc/PID/stat line of p (with the trailing
// newline) as fs/proc/array.c do_task_stat prints it.
func AppendStat(b []byte, p *Proc) []byte {
	f := defaultStat(p)
	if p.Stat != nil {
		f = *p.Stat
	}
	state := p.State
	if state == 0 {
		state = 'S'
	}
	threads := max(p.Threads, 1)
	b = strconv.AppendInt(b, int64(p.PID), 10)
	b = append(b, " ("...)
	b = append(b, p.Comm...)
	b = append(b, ") "...)
	b = append(b, state)
	for _, v := range []int64{int64(p.PPID), int64(f.PGRP), int64(f.Session), int64(f.TTYNr), int64(f.TPGID)} {
		b = appendInt(b, v)
	}
	for _, v := range []uint64{f.Flags, f.MinFlt, f.CMinFlt, f.MajFlt, f.CMajFlt, f.UTime, f.STime} {
		b = appendUint(b, v)
	}
	for _, v := range []int64{f.CUTime, f.CSTime, f.Priority, f.Nice, int64(threads), f.ItRealValue} {
		b = appendInt(b, v)
	}
	b = appendUint(b, p.StartTicks)
	b = appendUint(b, f.VSize)
	b = appendInt(b, f.RSS)
	b = appendUint(b, f.RSSLim)
	for _, v := range f.Tail {
		b = appendUint(b, v)
	}
	return append(b, '\n')
}

func appendInt(b []byte, v int64) []byte {
	return strconv.AppendInt(append(b, ' '), v, 10)
}

func appendUint(b []byte, v uint64) []byte {
	return strconv.AppendUint(append(b, ' '), v, 10)
}

var stateNames = map[byte]string{
	'R': "R (running)", 'S': "S (sleeping)", 'D': "D (disk sleep)",
	'T': "T (stopped)", 't': "t (tracing stop)", 'X': "X (dead)",
	'Z': "Z (zombie)", 'P': "P (parked)", 'I': "I (idle)",
}

// escapeName escapes a comm as proc_task_name does for the status Name
// line: seq_escape_str(m, tcomm, ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\"),
// which escapes only newline and backslash.
var escapeName = strings.NewReplacer("\\", "\\\\", "\n", "\\n")

// AppendStatus appends the /proc/PID/status content of p as
// fs/proc/array.c proc_pid_status prints it. Lines the agent does not read
// (memory, signals, capabilities) carry plausible fixed values; kernel
// threads have no Vm lines, as on a live system.
func AppendStatus(b []byte, p *Proc) []byte {
	kthread := p.Argv == nil && p.RawCmdline == ""
	state := p.State
	if state == 0 {
		state = 'S'
	}
	name, ok := stateNames[state]
	if !ok {
		name = string(state) + " (sleeping)"
	}
	f := defaultStat(p)
	if p.Stat != nil {
		f = *p.Stat
	}
	uid, gid := strconv.Itoa(p.UID), strconv.Itoa(p.GID)
	pid := strconv.Itoa(p.PID)
	fdsize := "64"
	if !kthread {
		fdsize = "256"
	}
	kt := "0"
	if kthread {
		kt = "1"
	}
	b = append(b, "Name:\t"...)
	b = append(b, escapeName.Replace(p.Comm)...)
	b = append(b, "\nUmask:\t0022\nState:\t"...)
	b = append(b, name...)
	b = append(b, "\nTgid:\t"+pid+"\nNgid:\t0\nPid:\t"+pid+"\nPPid:\t"+strconv.Itoa(p.PPID)+
		"\nTracerPid:\t0\nUid:\t"+uid+"\t"+uid+"\t"+uid+"\t"+uid+
		"\nGid:\t"+gid+"\t"+gid+"\t"+gid+"\t"+gid+
		"\nFDSize:\t"+fdsize+"\nGroups:\t \nNStgid:\t"+pid+"\nNSpid:\t"+pid+
		"\nNSpgid:\t"+strconv.Itoa(f.PGRP)+"\nNSsid:\t"+strconv.Itoa(f.Session)+
		"\nKthread:\t"+kt+"\n"...)
	if !kthread {
		b = append(b, "VmPeak:\t   12288 kB\nVmSize:\t   12288 kB\nVmLck:\t       0 kB\n"+
			"VmPin:\t       0 kB\nVmHWM:\t    3600 kB\nVmRSS:\t    3600 kB\n"+
			"RssAnon:\t     400 kB\nRssFile:\t    3200 kB\nRssShmem:\t       0 kB\n"+
			"VmData:\t     600 kB\nVmStk:\t     132 kB\nVmExe:\t      20 kB\n"+
			"VmLib:\t    1500 kB\nVmPTE:\t      48 kB\nVmSwap:\t       0 kB\n"+
			"HugetlbPages:\t       0 kB\nCoreDumping:\t0\nTHP_enabled:\t1\n"+
			"untag_mask:\t0xffffffffffffffff\n"...)
	}
	b = append(b, "Threads:\t"+strconv.Itoa(max(p.Threads, 1))+"\n"...)
	b = append(b, "SigQ:\t0/96364\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"+
		"SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n"+
		"CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n"+
		"CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n"+
		"Seccomp_filters:\t0\nSpeculation_Store_Bypass:\tvulnerable\n"+
		"SpeculationIndirectBranch:\talways enabled\nCpus_allowed:\t3\n"+
		"Cpus_allowed_list:\t0-1\nMems_allowed:\t00000000,00000001\nMems_allowed_list:\t0\n"+
		"voluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t1\n"...)
	return b
}
