//! `--metrics ADDR`: what the host saw of its guests, as Prometheus / OpenMetrics text at
//! `http://ADDR/metrics`, served by the host on its own listener (the guest's network policy
//! does not apply to it, and the guest cannot reach or see it).
//!
//! Every series has an `instance` label: one [`InstanceMetrics`] per running instance of the
//! component (`"0"` while the host runs one), made by [`Metrics::instance`] for the instance
//! the starting thread runs ([`instance_label`]). The parts: [`registry`] (the series and
//! their names), [`counting_streams`] (the byte and connection counts, by wrapping the
//! streams of each accepted connection), [`p3_connections`] and [`p3_counting_streams`] (the
//! same for WASI 0.3 guests), [`server`] (the HTTP responder).

pub mod counting_streams;
pub mod instance_label;
pub(crate) mod p3_connections;
pub(crate) mod p3_counting_streams;
pub mod registry;
pub mod server;

pub use instance_label::set_instance_on_this_thread;
pub use registry::{InstanceMetrics, Metrics};
pub use server::{serve, MetricsServer};
