//! A component that misbehaves on request, for the host's error-path tests.
//!
//! Usage: misbehave trap | exit CODE | fail | ok | env NAME | args ...

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("trap") => trap(),
        Some("exit") => {
            let code = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(7);
            std::process::exit(code)
        }
        Some("fail") => Err("failing on purpose".into()),
        Some("ok") => Ok(()),
        Some("env") => {
            let name = args.get(1).ok_or("env NAME")?;
            println!("{}", std::env::var(name).map_err(|e| format!("{name}: {e}"))?);
            Ok(())
        }
        Some("args") => {
            let all: Vec<String> = std::env::args().collect();
            println!("{all:?}");
            Ok(())
        }
        other => Err(format!("unknown mode {other:?}; use trap | exit CODE | fail | ok | env NAME | args")),
    }
}

#[inline(never)]
fn trap() -> ! {
    // A wasm `unreachable` instruction: the host sees a trap, not an exit.
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}
