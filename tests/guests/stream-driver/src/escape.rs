//! Byte strings on the command line: `\n`, `\r`, `\t`, `\s` (space), `\\`, `\xNN`.

pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b's') => out.push(b' '),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex = [bytes.next(), bytes.next()];
                let [Some(h), Some(l)] = hex else { return Err("short \\x escape".into()) };
                let digits = std::str::from_utf8(&[h, l]).map_err(|e| e.to_string())?.to_owned();
                out.push(u8::from_str_radix(&digits, 16).map_err(|e| e.to_string())?);
            }
            other => return Err(format!("bad escape \\{:?}", other.map(char::from))),
        }
    }
    Ok(out)
}

/// Bytes as the test side expects them: Rust's `escape_ascii` inside quotes.
pub fn show(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}
