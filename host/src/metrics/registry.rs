//! The series `--metrics` serves, and the per-instance handles the host updates.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabel {
    instance: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DenialLabels {
    instance: String,
    rule: String,
}

type Counters = Family<InstanceLabel, Counter>;
type Gauges = Family<InstanceLabel, Gauge>;
type TimeGauges = Family<InstanceLabel, Gauge<f64, AtomicU64>>;

/// Every series, registered under its name (counters get `_total` when encoded).
pub struct Metrics {
    registry: Registry,
    accepted: Counters,
    open: Gauges,
    received: Counters,
    sent: Counters,
    denials: Family<DenialLabels, Counter>,
    memory: Gauges,
    busy_stops: Counters,
    restarts: Counters,
    start_time: TimeGauges,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let metrics = Metrics {
            accepted: Counters::default(),
            open: Gauges::default(),
            received: Counters::default(),
            sent: Counters::default(),
            denials: Family::default(),
            memory: Gauges::default(),
            busy_stops: Counters::default(),
            restarts: Counters::default(),
            start_time: TimeGauges::default(),
            registry: Registry::default(),
        };
        registry.register(
            "wasio_connections_accepted",
            "TCP connections the guest accepted",
            metrics.accepted.clone(),
        );
        registry.register(
            "wasio_connections_open",
            "Accepted connections whose streams the guest still holds",
            metrics.open.clone(),
        );
        registry.register(
            "wasio_bytes_received",
            "Bytes the guest read from accepted connections",
            metrics.received.clone(),
        );
        registry.register(
            "wasio_bytes_sent",
            "Bytes the guest wrote to accepted connections",
            metrics.sent.clone(),
        );
        registry.register(
            "wasio_policy_denials",
            "Uses of an address the network policy denied, by the rule that denied it",
            metrics.denials.clone(),
        );
        registry.register(
            "wasio_guest_memory_bytes",
            "The guest's linear memories, summed",
            metrics.memory.clone(),
        );
        registry.register(
            "wasio_busy_stops",
            "Times the guest was stopped for running wasm longer than --max-busy",
            metrics.busy_stops.clone(),
        );
        registry.register(
            "wasio_restarts",
            "Restarts made by --restart on-failure",
            metrics.restarts.clone(),
        );
        registry.register(
            "wasio_start_time_seconds",
            "When the instance was last started, in seconds since the Unix epoch",
            metrics.start_time.clone(),
        );
        Metrics { registry, ..metrics }
    }

    /// The handles of instance `instance` (the label's value), its series created at zero so
    /// a scrape shows them before anything happened.
    pub fn instance(&self, instance: &str) -> Arc<InstanceMetrics> {
        let label = InstanceLabel { instance: instance.to_string() };
        let counter = |family: &Counters| family.get_or_create(&label).clone();
        let gauge = |family: &Gauges| family.get_or_create(&label).clone();
        Arc::new(InstanceMetrics {
            instance: instance.to_string(),
            accepted: counter(&self.accepted),
            open: gauge(&self.open),
            received: counter(&self.received),
            sent: counter(&self.sent),
            denials: self.denials.clone(),
            memory: gauge(&self.memory),
            busy_stops: counter(&self.busy_stops),
            restarts: counter(&self.restarts),
            start_time: self.start_time.get_or_create(&label).clone(),
        })
    }

    /// The OpenMetrics text of every series.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// One instance's series; cheap to update from any thread.
#[derive(Debug)]
pub struct InstanceMetrics {
    instance: String,
    pub(crate) accepted: Counter,
    pub(crate) open: Gauge,
    pub(crate) received: Counter,
    pub(crate) sent: Counter,
    denials: Family<DenialLabels, Counter>,
    pub(crate) memory: Gauge,
    pub(crate) busy_stops: Counter,
    pub(crate) restarts: Counter,
    start_time: Gauge<f64, AtomicU64>,
}

impl InstanceMetrics {
    /// The `instance` label's value.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// A start (or restart) of the instance: a new store, no memory yet.
    pub(crate) fn started(&self) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        self.start_time.set(now.as_secs_f64());
        self.memory.set(0);
    }

    /// The network policy denied a use of an address; `rule` as in `Denial::rule`.
    pub(crate) fn policy_denied(&self, rule: &str) {
        let labels = DenialLabels { instance: self.instance.clone(), rule: rule.to_string() };
        self.denials.get_or_create(&labels).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn an_instance_shows_every_series_at_zero_then_counts() {
        let metrics = Metrics::new();
        let instance = metrics.instance("0");
        let text = metrics.encode();
        for line in [
            "wasio_connections_accepted_total{instance=\"0\"} 0",
            "wasio_connections_open{instance=\"0\"} 0",
            "wasio_bytes_received_total{instance=\"0\"} 0",
            "wasio_bytes_sent_total{instance=\"0\"} 0",
            "wasio_guest_memory_bytes{instance=\"0\"} 0",
            "wasio_busy_stops_total{instance=\"0\"} 0",
            "wasio_restarts_total{instance=\"0\"} 0",
            "wasio_start_time_seconds{instance=\"0\"} 0.0",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        instance.started();
        instance.received.inc_by(5);
        instance.policy_denied("--deny-net 127.0.0.1:22");
        let text = metrics.encode();
        assert!(text.contains("wasio_bytes_received_total{instance=\"0\"} 5\n"), "{text}");
        assert!(
            text.contains("wasio_policy_denials_total{instance=\"0\",rule=\"--deny-net 127.0.0.1:22\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("wasio_start_time_seconds{instance=\"0\"} 0.0\n"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
