//! The policy applied to a wasmtime-wasi context (feature `wasmtime`, which the host enables).

use std::future;
use std::sync::Arc;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::WasiCtxBuilder;

use crate::address_use::AddressUse;
use crate::policy::{preposition, Denial, NetworkPolicy};

impl From<SocketAddrUse> for AddressUse {
    fn from(use_: SocketAddrUse) -> Self {
        match use_ {
            SocketAddrUse::TcpBind => AddressUse::TcpBind,
            SocketAddrUse::TcpListen => AddressUse::TcpListen,
            SocketAddrUse::TcpConnect => AddressUse::TcpConnect,
            SocketAddrUse::TcpAccept => AddressUse::TcpAccept,
            SocketAddrUse::UdpBind => AddressUse::UdpBind,
            SocketAddrUse::UdpSend => AddressUse::UdpSend,
            SocketAddrUse::UdpReceive => AddressUse::UdpReceive,
        }
    }
}

impl NetworkPolicy {
    /// Configures `builder` with this policy: the TCP / UDP / name-lookup switches and an
    /// address check that logs a warning for every denied use.
    pub fn apply(&self, builder: &mut WasiCtxBuilder) {
        self.apply_observed(builder, |_| {});
    }

    /// [`NetworkPolicy::apply`], also calling `on_denial` with every denied use (the host's
    /// `wasio_policy_denials_total` counts them).
    pub fn apply_observed(
        &self,
        builder: &mut WasiCtxBuilder,
        on_denial: impl Fn(&Denial) + Send + Sync + 'static,
    ) {
        builder
            .allow_tcp(self.tcp_enabled())
            .allow_udp(self.udp_enabled())
            .allow_ip_name_lookup(self.ip_name_lookup_enabled());
        let policy = Arc::new(self.clone());
        builder.socket_addr_check(move |addr, use_| {
            let use_ = AddressUse::from(use_);
            let allowed = match policy.denial(addr, use_) {
                None => {
                    tracing::debug!("allowed {:?} {} {addr}", use_, preposition(use_));
                    true
                }
                Some(denial) => {
                    tracing::warn!("{denial}");
                    on_denial(&denial);
                    false
                }
            };
            Box::pin(future::ready(allowed))
        });
    }
}
