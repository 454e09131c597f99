//! Putting the host's own functions in place of some that wasmtime-wasi defines in a
//! linker (the socket shadows: `reuse_port`, `tcp_nodelay`, `listener_handoff`,
//! `accept_errors`, `metrics`).

use wasmtime::component::Linker;

/// Checks that wasmtime-wasi defines each `(interface, name)` of `replaced` in `linker`
/// (else an error naming `purpose`: its WIT version changed, and without the check the
/// host's function would be added beside it, or not at all, and `purpose` silently lost),
/// then lets `define` put the host's own in their place. Leaves shadowing disallowed (the
/// default).
pub(crate) fn replace<T: 'static>(
    linker: &mut Linker<T>,
    replaced: &[(&str, &str)],
    purpose: &str,
    define: impl FnOnce(&mut Linker<T>) -> wasmtime::Result<()>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(false);
    for &(interface, name) in replaced {
        if linker.instance(interface)?.func_wrap(name, |_, (): ()| Ok(())).is_ok() {
            wasmtime::bail!(
                "cannot {purpose}: wasmtime-wasi does not define `{name}` in `{interface}` (has its \
                 WIT version changed?)"
            );
        }
    }
    linker.allow_shadowing(true);
    let defined = define(linker);
    linker.allow_shadowing(false);
    defined
}

#[cfg(test)]
mod tests {
    use wasmtime::component::Linker;
    use wasmtime::Engine;

    use super::replace;

    #[test]
    fn replaces_what_is_defined_and_refuses_what_is_not() {
        let mut linker: Linker<()> = Linker::new(&Engine::default());
        linker.instance("i").unwrap().func_wrap("f", |_, (): ()| Ok(())).unwrap();
        let replaced = replace(&mut linker, &[("i", "f")], "test", |linker| {
            linker.instance("i")?.func_wrap("f", |_, (): ()| Ok(()))
        });
        assert!(replaced.is_ok(), "{replaced:?}");
        // Shadowing is off again afterwards.
        assert!(linker.instance("i").unwrap().func_wrap("f", |_, (): ()| Ok(())).is_err());

        let missing = replace(&mut linker, &[("i", "g")], "do the thing", |_| Ok(())).unwrap_err();
        assert!(missing.to_string().contains("cannot do the thing"), "{missing}");
        assert!(missing.to_string().contains("does not define `g` in `i`"), "{missing}");
    }
}
