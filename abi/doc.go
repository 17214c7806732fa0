// Package abi is the proctag host<->plugin contract v1 in code: the names of
// the imports and exports a plugin module has, the version numbers, the
// return codes, and the compact binary encoding of the records the host sends
// and the results the guest returns. ABI.md in this directory is the
// normative text; this package implements it.
//
// The package is shared by the host (agent/internal/sandbox, linux) and by
// guests (the sdk package and plugins, GOOS=wasip1 GOARCH=wasm), so it uses
// only small parts of the standard library (errors, strconv) and never fmt,
// encoding/json or crypto, which would make every plugin bigger and slower.
//
// Encoding in one paragraph: a message is a sequence of fields, each
// uvarint(field id), uvarint(length), then length bytes. Integers inside a
// field are uvarints (signed ones zigzag); strings are raw UTF-8; nested
// messages use the same framing; a repeated field repeats its id; a decoder
// skips field ids it does not know, which is how minor versions add fields.
//
// What the package leaves to others: running modules, limits, grants and the
// validation of tag keys and values (agent/internal/sandbox), and the
// plugin-author API (sdk). Decoders here check framing only; they do not
// validate UTF-8.
package abi
