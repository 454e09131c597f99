//! `wasio:streams@0.2.0` (wit/v0.2): the WASI 0.3 face parses, sits beside 0.1.0, and has
//! the shape its documentation promises: every operation that can wait is an `async func`,
//! no `try-*`/`subscribe` twins, and the bulk `stream<u8>` paths.

use std::path::PathBuf;

use wit_parser::{Function, FunctionKind, Resolve, Type, TypeDefKind};

fn wit_dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("wit").join(sub)
}

/// The `types` interface's functions and methods of `package`, by WIT name.
fn functions(resolve: &Resolve, package: &str) -> Vec<Function> {
    let (_, pkg) = resolve
        .packages
        .iter()
        .find(|(_, p)| p.name.to_string() == package)
        .unwrap_or_else(|| panic!("package {package} not parsed"));
    let types = pkg.interfaces["types"];
    resolve.interfaces[types].functions.values().cloned().collect()
}

fn parse(sub: &str) -> Resolve {
    let mut resolve = Resolve::default();
    resolve.push_dir(wit_dir(sub)).unwrap_or_else(|e| panic!("wit/{sub} does not parse: {e:?}"));
    resolve
}

fn is_async(f: &Function) -> bool {
    matches!(
        f.kind,
        FunctionKind::AsyncFreestanding | FunctionKind::AsyncMethod(_) | FunctionKind::AsyncStatic(_)
    )
}

#[test]
fn both_versions_parse_side_by_side() {
    parse("");
    parse("v0.2");
}

#[test]
fn every_waiting_operation_is_async_and_nothing_else_is() {
    let resolve = parse("v0.2");
    let functions = functions(&resolve, "wasio:streams@0.2.0");
    let waiting = [
        "[method]reader.read",
        "[method]reader.readline",
        "[method]reader.readexactly",
        "[method]reader.readuntil",
        "[method]reader.readuntil-any",
        "[method]writer.drain",
        "[method]writer.write-stream",
        "[method]writer.wait-closed",
        "[method]writer.start-tls",
        "[method]server.accept",
        "[method]server.wait-closed",
        "open-connection",
        "start-server",
        // Wait for nothing, but their task runs the stdio pump from the start (asyncio's
        // connect_read_pipe and connect_write_pipe are coroutines too): stdin is read at
        // once, and a `write` (sync) alone reaches stdout.
        "stdin-reader",
        "stdout-writer",
    ];
    for name in waiting {
        let f = functions.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(is_async(f), "{name} must be an async func");
    }
    for f in &functions {
        assert!(waiting.contains(&f.name.as_str()) || !is_async(f), "{} is async but never waits", f.name);
        assert!(!f.name.contains(".try-") && !f.name.ends_with(".subscribe"), "{} is a p2 twin", f.name);
    }
}

#[test]
fn the_bulk_paths_carry_stream_u8() {
    let resolve = parse("v0.2");
    let functions = functions(&resolve, "wasio:streams@0.2.0");
    let is_byte_stream = |ty: &Type| match ty {
        Type::Id(id) => matches!(resolve.types[*id].kind, TypeDefKind::Stream(Some(Type::U8))),
        _ => false,
    };
    let write_stream = functions.iter().find(|f| f.name == "[method]writer.write-stream").unwrap();
    assert!(is_byte_stream(&write_stream.params[1].ty), "write-stream takes a stream<u8>");
    let into_stream = functions.iter().find(|f| f.name == "[static]reader.into-stream").unwrap();
    // result<tuple<stream<u8>, future<..>>, error>
    let Some(Type::Id(result)) = into_stream.result else { panic!("into-stream returns a result") };
    let TypeDefKind::Result(r) = &resolve.types[result].kind else { panic!("a result") };
    let Some(Type::Id(tuple)) = r.ok else { panic!("ok is a tuple") };
    let TypeDefKind::Tuple(t) = &resolve.types[tuple].kind else { panic!("a tuple") };
    assert!(is_byte_stream(&t.types[0]));
}

#[test]
fn the_same_records_errors_and_options_as_0_1_0() {
    let names = |sub: &str, package: &str| {
        let resolve = parse(sub);
        let (_, pkg) = resolve.packages.iter().find(|(_, p)| p.name.to_string() == package).unwrap();
        let iface = &resolve.interfaces[pkg.interfaces["types"]];
        let mut names: Vec<(String, String)> = iface
            .types
            .iter()
            .filter(|(name, _)| *name != "ip-socket-address" && *name != "pollable")
            .map(|(name, id)| (name.clone(), format!("{:?}", kind_shape(&resolve, *id))))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("", "wasio:streams@0.1.0"), names("v0.2", "wasio:streams@0.2.0"));
}

/// A type's shape by field and case names (type ids differ between the two packages).
fn kind_shape(resolve: &Resolve, id: wit_parser::TypeId) -> Vec<String> {
    match &resolve.types[id].kind {
        TypeDefKind::Record(r) => r.fields.iter().map(|f| f.name.clone()).collect(),
        TypeDefKind::Variant(v) => v.cases.iter().map(|c| c.name.clone()).collect(),
        TypeDefKind::Enum(e) => e.cases.iter().map(|c| c.name.clone()).collect(),
        TypeDefKind::Resource => vec!["resource".into()],
        other => vec![format!("{}", other.as_str())],
    }
}
