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

// sizeAllowed describes the size syntax for messages.
const sizeAllowed = `a size like "64MiB", "512KiB", "1GiB" or a number of bytes`

// sizeValue decodes a byte size: an integer number of bytes or a string
// parseSize accepts. ok is false after an error.
func (d *decoder) sizeValue(v *yaml.Node, key string) (n uint64, ok bool) {
	v = resolve(v)
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int":
		i, ok := d.integer(v, key)
		if !ok {
			return 0, false
		}
		if i < 0 {
			d.bad(v, key, sizeAllowed)
			return 0, false
		}
		return uint64(i), true
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str":
		n, err := parseSize(v.Value)
		if err != nil {
			d.bad(v, key, sizeAllowed)
			return 0, false
		}
		return n, true
	}
	d.bad(v, key, sizeAllowed)
	return 0, false
}

// memoryLimit decodes memory-limit and rounds it up to whole wasm pages.
func (d *decoder) memoryLimit(v *yaml.Node, key string, dst *uint64) {
	n, ok := d.sizeValue(v, key)
	if !ok {
		return
	}
	if n == 0 || n > maxPluginMemory {
		d.errorf(v, key, "%s is not a size from 1 byte to 4GiB", describe(v))
		return
	}
	*dst = (n + wasmPageBytes - 1) / wasmPageBytes * wasmPageBytes
}

// size decodes a byte size in [lo, hi], kept exact (not rounded).
func (d *decoder) size(v *yaml.Node, key string, lo, hi int64, dst *int64) {
	n, ok := d.sizeValue(v, key)
	if !ok {
		return
	}
	if n < uint64(lo) || n > uint64(hi) {
		d.errorf(v, key, "%s is not a size from %s to %s", describe(v), formatSize(uint64(lo)), formatSize(uint64(hi)))
		return
	}
	*dst = int64(n)
}

// formatSize writes a byte count in the largest unit that divides it:
// "32MiB", "1KiB", "1 byte", "1000 bytes".
func formatSize(n uint64) string {
	for _, u := range sizeUnits[:len(sizeUnits)-1] {
		if n > 0 && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.suffix)
		}
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
