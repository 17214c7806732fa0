package instrument

// simd skips the sub-opcode and immediates of a 0xFD (fixed-width SIMD)
// instruction, as the SIMD proposal's binary format lays them out. An
// opcode the proposal does not define is skipped as having no immediates;
// the engine's validation refuses it.
func (r *reader) simd() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // loads, store, load_zero: memarg
		return r.memarg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle: 16 bytes
		return r.skip(16)
	case sub >= 0x15 && sub <= 0x22: // extract_lane, replace_lane: lane index
		return r.skip(1)
	case sub >= 0x54 && sub <= 0x5b: // load_lane, store_lane: memarg, lane index
		if err := r.memarg(); err != nil {
			return err
		}
		return r.skip(1)
	}
	return nil
}
