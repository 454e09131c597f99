//! The composition itself: the provider instance's `wasio:streams/types` export (or
//! another interface's) becomes the argument for the consumer's import of the same name
//! (semver-compatible versions match, as in `wac plug`).

use std::path::Path;

use anyhow::{bail, Context};
use wac_graph::types::{are_semver_compatible, Package};
use wac_graph::{plug, CompositionGraph, EncodeOptions};

/// The interface the provider exports and the consumer imports (without its version).
pub const STREAMS_INTERFACE: &str = "wasio:streams/types";

/// Plugs the provider's `interface` (a name without its version) into the consumer's
/// import of it; returns the encoded (and validated) composed component.
pub fn plug_interface(interface: &str, provider: &Path, consumer: &Path) -> anyhow::Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let provider = load(&mut graph, "wasio:streams-provider", provider)?;
    let consumer = load(&mut graph, "wasio:consumer", consumer)?;

    let export = versioned_name(interface, graph.types()[graph[provider].ty()].exports.keys())
        .with_context(|| format!("the provider does not export {interface}"))?;
    let import = versioned_name(interface, graph.types()[graph[consumer].ty()].imports.keys())
        .with_context(|| format!("the consumer does not import {interface}"))?;
    if !are_semver_compatible(&export, &import) {
        bail!("the provider exports {export}, but the consumer imports {import}");
    }

    plug(&mut graph, vec![provider], consumer).with_context(|| {
        format!("plugging the provider's {export} into the consumer's {import} (do the types match?)")
    })?;
    graph.encode(EncodeOptions::default()).context("encoding the composed component")
}

fn load(graph: &mut CompositionGraph, name: &str, path: &Path) -> anyhow::Result<wac_graph::PackageId> {
    let package = Package::from_file(name, None, path, graph.types_mut())
        .with_context(|| format!("loading {}", path.display()))?;
    Ok(graph.register_package(package)?)
}

/// The `INTERFACE[@VERSION]` name among `names`, if any.
fn versioned_name<'a>(interface: &str, mut names: impl Iterator<Item = &'a String>) -> Option<String> {
    names.find(|name| name.split('@').next() == Some(interface)).cloned()
}
