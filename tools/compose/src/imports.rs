//! What a component imports, read back from its bytes: after plugging, only WASI
//! interfaces may be left for the runtime to provide.

use anyhow::bail;
use wac_graph::types::{Package, Types};

/// The names a component imports (e.g. `wasi:io/poll@0.2.12`).
pub fn import_names(component: &[u8]) -> anyhow::Result<Vec<String>> {
    let mut types = Types::default();
    let package = Package::from_bytes("composed:component", None, component, &mut types)?;
    Ok(types[package.ty()].imports.keys().cloned().collect())
}

/// Fails, naming them, when `component` imports anything but `wasi:*` interfaces.
pub fn check_only_wasi(component: &[u8]) -> anyhow::Result<()> {
    let others: Vec<String> =
        import_names(component)?.into_iter().filter(|name| !name.starts_with("wasi:")).collect();
    if !others.is_empty() {
        bail!(
            "the composed component still imports non-WASI items, which no WASI runtime provides: {}",
            others.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(imports: &[&str]) -> Vec<u8> {
        let imports: String = imports.iter().map(|name| format!("(import \"{name}\" (instance))")).collect();
        wat::parse_str(format!("(component {imports})")).unwrap()
    }

    #[test]
    fn wasi_imports_pass() {
        let wasi = component(&["wasi:io/poll@0.2.12", "wasi:sockets/tcp@0.2.12"]);
        assert_eq!(import_names(&wasi).unwrap(), ["wasi:io/poll@0.2.12", "wasi:sockets/tcp@0.2.12"]);
        check_only_wasi(&wasi).unwrap();
    }

    #[test]
    fn other_imports_are_named() {
        let unplugged = component(&["wasi:io/poll@0.2.12", "wasio:streams/types@0.1.0"]);
        let error = check_only_wasi(&unplugged).unwrap_err().to_string();
        assert!(error.ends_with(": wasio:streams/types@0.1.0"), "{error}");
    }
}
