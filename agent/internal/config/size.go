package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// sizeUnits are the suffixes parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   uint64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1},
}

// parseSize parses a byte size: a non-negative integer with an optional
// IEC suffix (B, KiB, MiB, GiB), optionally separated by one space.
func parseSize(s string) (uint64, error) {
	num, mult := s, uint64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSuffix(rest, " "), u.mult
			break
		}
	}
	if num == "" || num[0] < '0' || num[0] > '9' {
		return 0, fmt.Errorf("parse size %q: no number", s)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse size %q: %w", s, err)
	}
	if n > math.MaxUint64/mult {
		return 0, fmt.Errorf("parse size %q: too large", s)
	}
	return n * mult, nil
}

// memoryLimit decodes memory-limit and rounds it up to whole wasm pages.
func (d *decoder) memoryLimit(v *yaml.Node, key string, dst *uint64) {
	v = resolve(v)
	allowed := `a size like "64MiB", "512KiB", "1GiB" or a number of bytes`
	var n uint64
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int":
		i, ok := d.integer(v, key)
		if !ok {
			return
		}
		if i < 0 {
			d.bad(v, key, allowed)
			return
		}
		n = uint64(i)
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str":
		var err error
		if n, err = parseSize(v.Value); err != nil {
			d.bad(v, key, allowed)
			return
		}
	default:
		d.bad(v, key, allowed)
		return
	}
	if n == 0 || n > maxPluginMemory {
		d.errorf(v, key, "%s is not a size from 1 byte to 4GiB", describe(v))
		return
	}
	*dst = (n + wasmPageBytes - 1) / wasmPageBytes * wasmPageBytes
}
