//! The provider component: `wasio:streams/types` exported from the same code as the
//! Rust API (see `wasio::provider`). Built by scripts/build-guests as
//! streams-provider.wasm.

use wasio::provider::Provider;

wasio::provider::bindings::export_provider!(Provider with_types_in wasio::provider::bindings);
