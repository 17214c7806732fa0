// Command behave is the wasmhost tests' guest: a Go WASI reactor that uses
// the abi package directly (not the SDK) and misbehaves on request. Its
// config ("prefix=P,fail-init,log-init") sets the tag prefix and init
// behaviour; the record's Name picks what a call does (see decide).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
package main

import (
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/proctag/proctag/abi"
)

func main() {}

var (
	prefix = "test."
	inbuf  []byte
	outbuf []byte
	rec    abi.Record
	res    abi.Result
	sink   [][]byte
)

//go:wasmimport proctag_v1 log
func hostLog(level int32, ptr uint32, n int32)

func logf(level abi.LogLevel, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	hostLog(int32(level), ptrOf(b), int32(len(b)))
}

func ptrOf(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

//go:wasmexport proctag_abi_version
func abiVersion() int32 { return int32(abi.Version()) }

//go:wasmexport proctag_alloc
func alloc(size int32) uint32 {
	if int(size) > cap(inbuf) {
		inbuf = make([]byte, size)
	}
	inbuf = inbuf[:size]
	return ptrOf(inbuf[:cap(inbuf)])
}

//go:wasmexport proctag_init
func initPlugin(ptr uint32, n int32) int32 {
	cfg := string(inbuf[:n])
	for _, kv := range strings.Split(cfg, ",") {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "prefix":
			prefix = v
		case "fail-init":
			logf(abi.LevelError, "init refused: fail-init is set")
			return 3
		case "log-init":
			logf(abi.LevelInfo, "init ok")
		case "trap-init":
			panic("trap in init")
		}
	}
	return 0
}

//go:wasmexport proctag_process
func process(ptr uint32, n int32) int64 {
	if err := abi.DecodeRecord(inbuf[:n], &rec); err != nil {
		return abi.CodeBadInput
	}
	res.Reset()
	if raw, code, done := decide(&rec, &res); done {
		if raw != nil {
			outbuf = append(outbuf[:0], raw...)
			return abi.PackResult(ptrOf(outbuf), uint32(len(outbuf)))
		}
		return code
	}
	if res.Empty() {
		return 0
	}
	outbuf = abi.AppendResult(outbuf[:0], &res)
	return abi.PackResult(ptrOf(outbuf), uint32(len(outbuf)))
}

// decide fills r for the record; done means "return raw bytes (raw != nil)
// or the code" instead of the encoded result.
func decide(rec *abi.Record, r *abi.Result) (raw []byte, code int64, done bool) {
	switch rec.Name {
	case "trap":
		panic("trap requested")
	case "loop":
		for {
		}
	case "grow":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "grow-once":
		sink = append(sink, make([]byte, 40<<20))
	case "garbage":
		return []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, true
	case "badptr":
		return nil, abi.PackResult(0x7ffff000, 4096), true
	case "badlog":
		hostLog(int32(abi.LevelInfo), 0x7fff0000, 100)
	case "errcode":
		return nil, abi.CodeInternal, true
	case "noop":
		return nil, 0, true
	case "colon":
		r.SetTags = append(r.SetTags, abi.Tag{Key: prefix + "a:b", Value: "v"})
	case "foreign":
		r.SetTags = append(r.SetTags, abi.Tag{Key: "other.key", Value: "v"})
	case "badvalue":
		r.SetTags = append(r.SetTags, abi.Tag{Key: prefix + "v", Value: "line\nbreak"})
	case "rename":
		r.Rename, r.HasRename = "renamed-"+rec.ProcessName, true
	case "drop":
		r.Drop = true
	case "log":
		logf(abi.LevelWarn, "hello from the guest")
	case "stdout":
		os.Stdout.WriteString("printed line\n")
	case "env":
		r.SetTags = append(r.SetTags, abi.Tag{Key: prefix + "env", Value: strings.Join(rec.Env, ";")})
	case "sandbox":
		_, ferr := os.ReadFile("/etc/hostname")
		_, derr := os.ReadDir("/")
		r.SetTags = append(r.SetTags,
			abi.Tag{Key: prefix + "env", Value: strconv.Itoa(len(os.Environ()))},
			abi.Tag{Key: prefix + "args", Value: strconv.Itoa(len(os.Args))},
			abi.Tag{Key: prefix + "file", Value: strconv.FormatBool(ferr == nil)},
			abi.Tag{Key: prefix + "dir", Value: strconv.FormatBool(derr == nil)},
			abi.Tag{Key: prefix + "year", Value: strconv.Itoa(time.Now().Year())})
	case "fields":
		r.SetTags = append(r.SetTags, abi.Tag{Key: prefix + "present", Value: rec.Present.String()})
	default:
		r.SetTags = append(r.SetTags,
			abi.Tag{Key: prefix + "name", Value: rec.Name},
			abi.Tag{Key: prefix + "pid", Value: strconv.Itoa(rec.PID)},
			abi.Tag{Key: prefix + "ntags", Value: strconv.Itoa(len(rec.Tags))})
	}
	return nil, 0, false
}
