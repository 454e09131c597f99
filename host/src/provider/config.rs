//! What a provider instance gets from the host.

use crate::NetworkPolicy;

/// What the provider's guest gets from the host: network policy and stdio.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Which addresses the guest may use.
    pub network: NetworkPolicy,
    /// The guest's stdin: these bytes then EOF, or (`None`) the host's stdin.
    pub stdin: Option<Vec<u8>>,
    /// Capture the guest's stdout in memory ([`Provider::captured_stdout`](super::Provider::captured_stdout)) instead of
    /// inheriting the host's.
    pub capture_stdout: bool,
}

impl ProviderConfig {
    /// `network`, with stdio inherited from the host.
    pub fn new(network: NetworkPolicy) -> Self {
        ProviderConfig { network, stdin: None, capture_stdout: false }
    }

    /// The guest reads `bytes`, then EOF, from stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// The guest's stdout goes to memory; see [`Provider::captured_stdout`](super::Provider::captured_stdout).
    pub fn capture_stdout(mut self) -> Self {
        self.capture_stdout = true;
        self
    }
}
