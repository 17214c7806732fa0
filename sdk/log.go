package sdk

import "github.com/proctag/proctag/abi"

// Level is the level of a Log message.
type Level = abi.LogLevel

// Log levels, as the host's agent log shows them.
const (
	LevelError = abi.LevelError
	LevelWarn  = abi.LevelWarn
	LevelInfo  = abi.LevelInfo
	LevelDebug = abi.LevelDebug
)

// Log sends msg to the agent's log at level, tagged with the plugin's name.
// The host truncates it to abi.MaxLogBytes and rate-limits repeated
// messages. Keep msg constant or short: never put environment values or
// whole command lines in it. Outside a wasm host (native tests) it writes
// to the sink set by SetLogOutput, standard error by default.
func Log(level Level, msg string) { hostLog(level, msg) }
