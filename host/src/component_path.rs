//! Finding the component file for a name given on the command line.
//!
//! `host echo-server.wasm` should work from the repository root although the examples are built
//! into `target/guests/wasm32-wasip2/release/` by `./scripts/build-guests`. So a name is looked up:
//! 1. as given, relative to the current directory (any path, bare or not);
//! 2. only for a bare file name (no directory part), in the component directories, in order:
//!    - `$WASIO_COMPONENT_DIR`, if set;
//!    - `<target>/guests/wasm32-wasip2/release` and `<target>/guests-debian/wasm32-wasip2/release`,
//!      where `<target>` is the directory holding the running executable's profile directory
//!      (`<repo>/target/debug/host` → `<repo>/target`; test binaries in `…/debug/deps/` too);
//!    - the same two under `<repo>/target`, found from this crate's manifest directory at compile
//!      time (`CARGO_MANIFEST_DIR/../target`).
//!
//! A name without the `.wasm` extension is tried as is, then with `.wasm` appended.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::HostError;

/// The environment variable naming an extra directory to look for components in (tried first).
pub const COMPONENT_DIR_ENV: &str = "WASIO_COMPONENT_DIR";

/// Where `./scripts/build-guests` puts components, relative to the target directory.
pub const GUEST_OUTPUT_DIRS: [&str; 2] =
    ["guests/wasm32-wasip2/release", "guests-debian/wasm32-wasip2/release"];

/// Resolves `name` to an existing component file using the default search directories
/// ([`default_search_dirs`]); see the module docs for the order.
pub fn resolve_component(name: &str) -> Result<PathBuf, HostError> {
    resolve_component_in(name, &default_search_dirs())
}

/// Resolves `name` like [`resolve_component`], but with an explicit list of directories for bare
/// file names (the current directory is always tried first).
pub fn resolve_component_in(name: &str, dirs: &[PathBuf]) -> Result<PathBuf, HostError> {
    let candidates = file_name_candidates(name);

    for candidate in &candidates {
        let path = Path::new(candidate);
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
    }

    if !is_bare_file_name(name) {
        let path = PathBuf::from(name);
        if path.is_dir() {
            return Err(HostError::Read {
                path,
                source: io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
            });
        }
        return Err(HostError::ComponentNotFound {
            name: name.to_string(),
            searched: vec![path],
            bare_name: false,
        });
    }

    for dir in dirs {
        for candidate in &candidates {
            let path = dir.join(candidate);
            if path.is_file() {
                return Ok(path);
            }
        }
    }

    let mut searched = vec![std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))];
    searched.extend(dirs.iter().cloned());
    Err(HostError::ComponentNotFound { name: name.to_string(), searched, bare_name: true })
}

/// The directories a bare component name is looked up in, after the current directory, in order
/// and without duplicates.
pub fn default_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(COMPONENT_DIR_ENV).filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(target) = std::env::current_exe().ok().as_deref().and_then(target_dir_of_exe) {
        dirs.extend(GUEST_OUTPUT_DIRS.iter().map(|d| target.join(d)));
    }
    let repo_target = normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    dirs.extend(GUEST_OUTPUT_DIRS.iter().map(|d| repo_target.join(d)));

    let mut unique: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let dir = normalize(&dir);
        if !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    unique
}

/// `<target>` for an executable at `<target>/<profile>/host` or `<target>/<profile>/deps/host-…`.
fn target_dir_of_exe(exe: &Path) -> Option<PathBuf> {
    let mut dir = exe.parent()?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent()?;
    }
    dir.parent().map(Path::to_path_buf)
}

/// `name`, then `name.wasm` if `name` does not already end in `.wasm`.
fn file_name_candidates(name: &str) -> Vec<OsString> {
    let mut candidates = vec![OsString::from(name)];
    if !name.ends_with(".wasm") {
        candidates.push(OsString::from(format!("{name}.wasm")));
    }
    candidates
}

/// Whether `name` is a single normal path component (`echo-server.wasm`, not `./x.wasm`,
/// `dir/x.wasm` or `/abs/x.wasm`).
fn is_bare_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!((components.next(), components.next()), (Some(Component::Normal(_)), None))
}

/// Removes `.` and resolves `..` lexically (no file-system access), for readable messages.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "host-component-path-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn bare_names() {
        assert!(is_bare_file_name("echo-server.wasm"));
        assert!(is_bare_file_name("echo-server"));
        assert!(!is_bare_file_name("./echo-server.wasm"));
        assert!(!is_bare_file_name("target/echo-server.wasm"));
        assert!(!is_bare_file_name("/abs/echo-server.wasm"));
        assert!(!is_bare_file_name(".."));
    }

    #[test]
    fn finds_in_dirs_in_order_and_appends_wasm() {
        let a = TempDir::new("a");
        let b = TempDir::new("b");
        fs::write(b.0.join("unique-x1.wasm"), b"x").unwrap();
        let dirs = vec![a.0.clone(), b.0.clone()];
        assert_eq!(resolve_component_in("unique-x1.wasm", &dirs).unwrap(), b.0.join("unique-x1.wasm"));
        assert_eq!(resolve_component_in("unique-x1", &dirs).unwrap(), b.0.join("unique-x1.wasm"));
        fs::write(a.0.join("unique-x1.wasm"), b"x").unwrap();
        assert_eq!(resolve_component_in("unique-x1", &dirs).unwrap(), a.0.join("unique-x1.wasm"));
    }

    #[test]
    fn a_directory_of_that_name_is_skipped() {
        let a = TempDir::new("dir");
        fs::create_dir_all(a.0.join("unique-x2")).unwrap();
        fs::write(a.0.join("unique-x2.wasm"), b"x").unwrap();
        let found = resolve_component_in("unique-x2", std::slice::from_ref(&a.0)).unwrap();
        assert_eq!(found, a.0.join("unique-x2.wasm"));
    }

    #[test]
    fn paths_are_taken_as_given() {
        let a = TempDir::new("path");
        let file = a.0.join("unique-x3.wasm");
        fs::write(&file, b"x").unwrap();
        let name = file.to_str().unwrap();
        assert_eq!(resolve_component_in(name, &[]).unwrap(), file);
        // A path with a directory part is not looked up in the search dirs.
        let err = resolve_component_in("nowhere/unique-x3.wasm", std::slice::from_ref(&a.0)).unwrap_err();
        assert!(matches!(err, HostError::ComponentNotFound { ref searched, .. } if searched.len() == 1));
        assert!(!err.to_string().contains("build-guests"), "{err}");
        // A directory given as a path is reported as such.
        let err = resolve_component_in(a.0.to_str().unwrap(), &[]).unwrap_err();
        assert_eq!(err.to_string(), format!("cannot read {}: is a directory", a.0.display()));
    }

    #[test]
    fn not_found_says_where_it_looked() {
        let a = TempDir::new("nf");
        let err = resolve_component_in("no-such-component-x4.wasm", std::slice::from_ref(&a.0)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("component `no-such-component-x4.wasm` not found (looked in: "), "{msg}");
        assert!(msg.contains(&a.0.display().to_string()), "{msg}");
        assert!(msg.ends_with("build the examples with `./scripts/build-guests`"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn default_dirs_include_the_repo_target() {
        let dirs = default_search_dirs();
        let repo_target = normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        assert!(dirs.contains(&repo_target.join("guests/wasm32-wasip2/release")), "{dirs:?}");
        assert!(dirs.contains(&repo_target.join("guests-debian/wasm32-wasip2/release")), "{dirs:?}");
    }

    #[test]
    fn exe_layouts() {
        assert_eq!(target_dir_of_exe(Path::new("/r/target/debug/host")), Some(PathBuf::from("/r/target")));
        assert_eq!(
            target_dir_of_exe(Path::new("/r/target/debug/deps/host-0123")),
            Some(PathBuf::from("/r/target"))
        );
        assert_eq!(normalize(Path::new("/r/host/../target/./x")), PathBuf::from("/r/target/x"));
    }
}
