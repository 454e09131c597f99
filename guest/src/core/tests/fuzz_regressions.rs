//! Inputs kept from fuzzing (`fuzz/regressions/<target>/`), replayed natively on every
//! test run through the same checks as their fuzz target (`core::model::replay_*`).
//! An input that once found a bug stays here; `./scripts/fuzz` says how to add one.

use std::path::PathBuf;

fn replay_all(target: &str, replay: fn(&[u8]) -> Result<(), String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_none_or(|ext| ext != "md"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "{}: no inputs kept", dir.display());
    for path in entries {
        let bytes = std::fs::read(&path).unwrap();
        if let Err(failure) = replay(&bytes) {
            panic!("{}: {failure}", path.display());
        }
    }
}

#[test]
fn read_buffer_inputs_kept_from_fuzzing_pass() {
    replay_all("read_buffer", crate::core::model::replay_read_buffer);
}

#[test]
fn write_buffer_inputs_kept_from_fuzzing_pass() {
    replay_all("write_buffer", crate::core::model::replay_write_buffer);
}
