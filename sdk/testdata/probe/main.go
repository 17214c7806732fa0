// Command probe is a test guest for the sdk's wasm tests: its behaviour is
// chosen by the process name it is given.
package main

import (
	"errors"

	"github.com/proctag/proctag/sdk"
)

func main() {}

var greeting = "hello"

func init() {
	sdk.OnInit(func(config []byte) error {
		switch string(config) {
		case "fail":
			return errors.New("config says fail")
		case "":
		default:
			greeting = string(config)
		}
		return nil
	})
	sdk.Handle(func(p *sdk.Process, out *sdk.Result) {
		switch p.Name {
		case "panic":
			panic("probe was asked to panic")
		case "drop":
			out.Drop()
		case "log":
			sdk.Log(sdk.LevelWarn, greeting)
		case "echo":
			out.Rename(p.ProcessName)
			for _, t := range p.Tags {
				out.SetTag("probe/"+t.Key, t.Value)
			}
			if v, ok := p.Getenv("PROBE"); ok {
				out.SetTag("probe/env", v)
			}
			out.RemoveTag("probe/old")
		}
	})
}
