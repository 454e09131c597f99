//! Which socket addresses a guest may use: the host's network policy as plain values,
//! with no wasmtime in it, so it is unit-tested and fuzzed on its own. [`rule`] parses
//! one `--allow-*`/`--deny-net` rule and matches addresses; [`policy`] decides a use of an
//! address from the rules. With the `wasmtime` feature (the host's), `NetworkPolicy::apply`
//! installs the policy in a wasmtime-wasi context; with `fuzzing`, [`invariants`] checks
//! what must hold for any rules (the `network_policy` fuzz target).

mod address_use;
#[cfg(any(test, feature = "fuzzing"))]
pub mod invariants;
pub mod policy;
pub mod rule;
#[cfg(feature = "wasmtime")]
mod wasi_ctx;

pub use address_use::AddressUse;
pub use policy::{Denial, NetworkPolicy};
pub use rule::{NetworkRule, RuleError};
