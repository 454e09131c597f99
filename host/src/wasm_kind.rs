//! Telling a component from a core module (or from something that is not wasm) by its header.
//!
//! Both binary formats start with the magic `\0asm` followed by a 16-bit version and a 16-bit
//! layer (little-endian): core modules have layer 0 (version 1: `01 00 00 00`), components have
//! layer 1 (currently version `0x0d`: `0d 00 01 00`). Checking this before compiling lets the host
//! say "this is a core module, build it for wasm32-wasip2" instead of wasmtime's generic
//! "failed to parse WebAssembly module".

/// What the first eight bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmKind {
    /// No `\0asm` magic (or shorter than a full header).
    NotWasm,
    /// A core WebAssembly module (layer 0).
    CoreModule,
    /// A component (layer 1); wasmtime decides whether it supports the version.
    Component,
    /// Magic present but an unknown layer.
    UnknownLayer(u16),
}

const MAGIC: &[u8; 4] = b"\0asm";

/// Classifies `bytes` by its header.
pub fn wasm_kind(bytes: &[u8]) -> WasmKind {
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return WasmKind::NotWasm;
    }
    match u16::from_le_bytes([bytes[6], bytes[7]]) {
        0 => WasmKind::CoreModule,
        1 => WasmKind::Component,
        layer => WasmKind::UnknownLayer(layer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_headers() {
        assert_eq!(wasm_kind(b""), WasmKind::NotWasm);
        assert_eq!(wasm_kind(b"\0asm"), WasmKind::NotWasm);
        assert_eq!(wasm_kind(b"#!/bin/sh\necho hi\n"), WasmKind::NotWasm);
        assert_eq!(wasm_kind(b"\0asm\x01\0\0\0"), WasmKind::CoreModule);
        assert_eq!(wasm_kind(b"\0asm\x0d\0\x01\0rest"), WasmKind::Component);
        assert_eq!(wasm_kind(b"\0asm\x0d\0\x07\0"), WasmKind::UnknownLayer(7));
    }
}
