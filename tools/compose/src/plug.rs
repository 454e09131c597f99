//! The composition itself: the provider instance's `wasio:streams/types` export becomes
//! the argument for the consumer's import of the same name (semver-compatible
//! versions match, as in `wac plug`).

use std::path::Path;

use anyhow::{bail, Context};
use wac_graph::types::{are_semver_compatible, Package};
use wac_graph::{plug, CompositionGraph, EncodeOptions};

/// The interface the provider exports and the consumer imports (without its version).
pub const STREAMS_INTERFACE: &str = "wasio:streams/types";

/// Returns the encoded (and validated) composed component.
pub fn plug_streams(provider: &Path, consumer: &Path) -> anyhow::Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let provider = load(&mut graph, "wasio:streams-provider", provider)?;
    let consumer = load(&mut graph, "wasio:consumer", consumer)?;

    let export = streams_name(graph.types()[graph[provider].ty()].exports.keys())
        .context("the provider does not export wasio:streams/types")?;
    let import = streams_name(graph.types()[graph[consumer].ty()].imports.keys())
        .context("the consumer does not import wasio:streams/types")?;
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

/// The `wasio:streams/types[@VERSION]` name among `names`, if any.
fn streams_name<'a>(mut names: impl Iterator<Item = &'a String>) -> Option<String> {
    names.find(|name| name.split('@').next() == Some(STREAMS_INTERFACE)).cloned()
}
