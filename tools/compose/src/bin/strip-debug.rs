//! `strip-debug --keep-in DIR FILE.wasm...`
//!
//! Removes the DWARF (`.debug_*` custom sections) from components and modules, at every
//! level of nesting, and keeps every other section: the `name` sections that `perf` (with
//! `WASIO_PROFILE=perfmap`) and wasmtime's backtraces take function names from, the
//! component type, the producers. A release component is mostly line tables (the echo
//! server: 6 MB, 180 KB without them). The file as it was goes to DIR first, for file and
//! line numbers in `host -v` backtraces; the stripped file keeps the original's modification
//! time, so the build's up-to-date checks see no change. A file without DWARF is left alone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use wasm_encoder::{ComponentSectionId, Encode, RawSection, Section};
use wasmparser::{Encoding, Payload};

#[derive(Parser)]
#[command(about = "Strip DWARF from WebAssembly components, keeping names")]
struct Args {
    /// Where the unstripped files are kept.
    #[arg(long, value_name = "DIR")]
    keep_in: PathBuf,
    /// The files to strip in place.
    #[arg(value_name = "FILE.wasm", required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut failed = false;
    for file in &args.files {
        if let Err(error) = strip_file(file, &args.keep_in) {
            eprintln!("strip-debug: error: {error:#}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn strip_file(file: &Path, keep_in: &Path) -> anyhow::Result<()> {
    let original = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let stripped = strip_dwarf(&original).with_context(|| format!("parsing {}", file.display()))?;
    if stripped.len() == original.len() {
        return Ok(());
    }
    let modified = std::fs::metadata(file)?.modified()?;
    let name = file.file_name().context("a file name")?;
    std::fs::create_dir_all(keep_in)?;
    let kept = keep_in.join(name);
    write_with_time(&kept, &original, modified)?;
    // Written beside it and renamed: a reader never sees half a file, and a hard link to
    // the original (cargo's) keeps the original.
    let partial = file.with_extension("wasm.partial");
    write_with_time(&partial, &stripped, modified)?;
    std::fs::rename(&partial, file)?;
    println!("{}: {} -> {} bytes", name.to_string_lossy(), original.len(), stripped.len());
    Ok(())
}

fn write_with_time(path: &Path, bytes: &[u8], modified: std::time::SystemTime) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path); // not through a hard link
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    std::fs::File::options().write(true).open(path)?.set_modified(modified)?;
    Ok(())
}

/// `wasm` without its `.debug_*` custom sections, in modules and components nested at any
/// depth (each nested one re-encoded with its new size).
fn strip_dwarf(wasm: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut output = Vec::new();
    // The enclosing components' output so far, innermost last.
    let mut enclosing: Vec<Vec<u8>> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::Version { encoding, .. } => output.extend_from_slice(match encoding {
                Encoding::Component => &wasm_encoder::Component::HEADER,
                Encoding::Module => &wasm_encoder::Module::HEADER,
            }),
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                enclosing.push(std::mem::take(&mut output));
                continue;
            }
            Payload::End(_) => {
                let Some(mut parent) = enclosing.pop() else { break };
                let id = if output.starts_with(&wasm_encoder::Component::HEADER) {
                    ComponentSectionId::Component
                } else {
                    ComponentSectionId::CoreModule
                };
                parent.push(id as u8);
                output.encode(&mut parent);
                output = parent;
                continue;
            }
            Payload::CustomSection(custom) if custom.name().starts_with(".debug_") => continue,
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            let data = &wasm[range.start as usize..range.end as usize];
            RawSection { id, data }.append_to(&mut output);
        }
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::strip_dwarf;

    fn custom_sections(wasm: &[u8]) -> Vec<String> {
        wasmparser::Parser::new(0)
            .parse_all(wasm)
            .filter_map(|payload| match payload.unwrap() {
                wasmparser::Payload::CustomSection(custom) => Some(custom.name().to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn drops_dwarf_at_every_depth_and_keeps_names() {
        let component = wat::parse_str(
            r#"(component
                 (core module $m
                   (@custom ".debug_info" "lots of dwarf")
                   (@custom ".debug_line" "more dwarf")
                   (func $answer (export "answer") (result i32) i32.const 42))
                 (component $inner
                   (core module (@custom ".debug_str" "dwarf") (func $g)))
                 (@custom "keep-me" "x"))"#,
        )
        .unwrap();
        let before = custom_sections(&component);
        assert!(before.iter().filter(|name| name.starts_with(".debug_")).count() == 3, "{before:?}");
        let stripped = strip_dwarf(&component).unwrap();
        let after = custom_sections(&stripped);
        assert!(!after.iter().any(|name| name.starts_with(".debug_")), "{after:?}");
        assert!(after.contains(&"name".to_string()) && after.contains(&"keep-me".to_string()), "{after:?}");
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&stripped)
            .unwrap();
        // Stripping again changes nothing.
        assert_eq!(strip_dwarf(&stripped).unwrap(), stripped);
    }

    #[test]
    fn a_module_too() {
        let module = wat::parse_str(r#"(module (@custom ".debug_info" "x") (func $f))"#).unwrap();
        let stripped = strip_dwarf(&module).unwrap();
        assert_eq!(custom_sections(&stripped), vec!["name".to_string()]);
    }
}
