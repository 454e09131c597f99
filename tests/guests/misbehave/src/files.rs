//! `cat` and `write` through `wasi:filesystem` directly (the `wasip2` crate), not
//! `std::fs`: the Debian fallback toolchain's wasi-libc is old and asks for more rights
//! than reading needs, so a read-only preopen would refuse even a read. What the tests
//! check is the host's preopens, not wasi-libc.

use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};

/// The whole file at `path`, as text.
pub fn read_to_string(path: &str) -> Result<String, String> {
    let file = open(path, OpenFlags::empty(), DescriptorFlags::READ)?;
    let mut contents = Vec::new();
    loop {
        let (chunk, end) =
            file.read(64 * 1024, contents.len() as u64).map_err(|e| format!("{path}: {e:?}"))?;
        contents.extend_from_slice(&chunk);
        if end || chunk.is_empty() {
            break;
        }
    }
    String::from_utf8(contents).map_err(|e| format!("{path}: {e}"))
}

/// Creates or replaces the file at `path` with `text`.
pub fn write(path: &str, text: &str) -> Result<(), String> {
    let file = open(path, OpenFlags::CREATE | OpenFlags::TRUNCATE, DescriptorFlags::WRITE)?;
    let mut written = 0;
    while written < text.len() {
        let n =
            file.write(&text.as_bytes()[written..], written as u64).map_err(|e| format!("{path}: {e:?}"))?;
        written += n as usize;
    }
    Ok(())
}

/// Opens `path` under the preopened directory whose guest path it starts with.
fn open(path: &str, open_flags: OpenFlags, flags: DescriptorFlags) -> Result<Descriptor, String> {
    let (dir, relative) = get_directories()
        .into_iter()
        .find_map(|(dir, guest_path)| {
            let prefix = guest_path.trim_end_matches('/');
            let relative = path.strip_prefix(prefix)?.strip_prefix('/')?.to_string();
            Some((dir, relative))
        })
        .ok_or_else(|| format!("{path}: not under any preopened directory"))?;
    dir.open_at(PathFlags::empty(), &relative, open_flags, flags).map_err(|e| format!("{path}: {e:?}"))
}
