//! Measuring a [`Run`] against a running server: each scenario's outcome as the report's
//! [`Metric`]s.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use anyhow::Context;

use super::tls::{self, TlsCase};
use super::{bulk, churn, fdlimit, flood, idle, lines, noread, slowloris, LinesCase, Measured, Run};
use crate::bulk_payload::BulkPayload;
use crate::metric::Metric;
use crate::server_close::ServerClose;
use crate::servers::RunningServer;
use crate::settings::Settings;
use crate::tls_client::TlsClient;

impl Measured {
    fn complete(values: Vec<(Metric, f64)>, summary: String) -> Measured {
        Measured { values, summary, failure: None }
    }
}

impl Run {
    pub async fn measure(
        self,
        server: &RunningServer,
        settings: &Settings,
        payload: &Arc<BulkPayload>,
        tls_client: Option<&TlsClient>,
    ) -> Result<Measured> {
        let address = server.address;
        let timeout = settings.io_timeout;
        Ok(match self {
            Run::Tls(case) => {
                let client = tls_client.context("a TLS run without a TLS client")?;
                measure_tls(case, server, client, settings, payload).await?
            }
            Run::Lines(case, _) => {
                let outcome =
                    lines::run(address, case.shape(), settings.warmup, settings.duration, timeout).await?;
                let values = match case {
                    LinesCase::Single => vec![
                        (Metric::SingleRequestsPerSec, outcome.requests_per_sec),
                        (Metric::SingleP99Micros, outcome.latency_micros(0.99)),
                    ],
                    LinesCase::Pipelined => vec![
                        (Metric::PipelinedRequestsPerSec, outcome.requests_per_sec),
                        (Metric::PipelinedFairness, outcome.fairness),
                    ],
                    LinesCase::LargeLines => {
                        vec![(Metric::LargeLinesRequestsPerSec, outcome.requests_per_sec)]
                    }
                };
                Measured::complete(values, outcome.summary())
            }
            Run::Bulk(_) => {
                let outcome = bulk::run(address, payload, settings.bulk_write_size, timeout).await?;
                Measured::complete(vec![(Metric::BulkMibPerSec, outcome.mib_per_sec)], outcome.summary())
            }
            Run::Churn => {
                let outcome =
                    churn::run(address, settings.churn_connections, settings.churn_concurrency, timeout)
                        .await?;
                Measured::complete(
                    vec![(Metric::ChurnConnectionsPerSec, outcome.connections_per_sec)],
                    outcome.summary(),
                )
            }
            Run::Idle => measure_idle(server, settings).await,
            Run::Flood(_) => {
                let flood = BulkPayload::new(settings.flood_bytes, settings.bulk_write_size);
                let outcome = flood::run(address, &flood, settings.bulk_write_size, timeout).await?;
                let probe = &outcome.probe;
                let values = vec![
                    (Metric::FloodProbeP50Millis, probe.millis(0.5)),
                    (Metric::FloodProbeP99Millis, probe.millis(0.99)),
                    (Metric::FloodProbeMaxMillis, probe.max_millis()),
                    (Metric::FloodMibPerSec, outcome.flood.mib_per_sec),
                ];
                Measured::complete(values, outcome.summary())
            }
            Run::NoRead => {
                let outcome = noread::run(
                    address,
                    Arc::clone(payload),
                    settings.bulk_write_size,
                    settings.noread_duration,
                    timeout,
                )
                .await?;
                let probe = &outcome.probe;
                let values = vec![
                    (Metric::NoReadProbeP50Millis, probe.millis(0.5)),
                    (Metric::NoReadProbeP99Millis, probe.millis(0.99)),
                    (Metric::NoReadProbeMaxMillis, probe.max_millis()),
                ];
                Measured::complete(values, outcome.summary())
            }
            Run::Slowloris => {
                let outcome = slowloris::run(
                    server,
                    settings.slowloris_connections,
                    settings.slowloris_duration,
                    timeout,
                )
                .await?;
                let probe = &outcome.probe;
                let values = vec![
                    (Metric::SlowlorisProbeP50Millis, probe.millis(0.5)),
                    (Metric::SlowlorisProbeP99Millis, probe.millis(0.99)),
                    (Metric::SlowlorisProbeMaxMillis, probe.max_millis()),
                    (Metric::SlowlorisCpuPercent, outcome.cpu.percent_of_core()),
                ];
                Measured::complete(values, outcome.summary())
            }
            Run::FdLimit => {
                let setup = fdlimit::FdLimitSetup {
                    clients: settings.fdlimit_clients,
                    window: settings.fdlimit_window,
                    io_timeout: timeout,
                };
                let outcome = fdlimit::run(server, &setup).await?;
                let millis = |duration: Duration| duration.as_secs_f64() * 1e3;
                let values = vec![
                    (Metric::FdLimitCpuPercent, outcome.cpu.percent_of_core()),
                    (Metric::FdLimitLogLinesPerSec, outcome.log_lines_per_sec()),
                    (Metric::FdLimitEchoMillis, millis(outcome.echo)),
                    (Metric::FdLimitRecoveryMillis, millis(outcome.recovery)),
                ];
                Measured::complete(values, outcome.summary())
            }
        })
    }
}

async fn measure_tls(
    case: TlsCase,
    server: &RunningServer,
    client: &TlsClient,
    settings: &Settings,
    payload: &BulkPayload,
) -> Result<Measured> {
    let (address, timeout) = (server.address, settings.io_timeout);
    Ok(match case {
        TlsCase::Handshakes => {
            let mut cpu = server.cpu_meter()?;
            let outcome = tls::handshakes(
                address,
                client,
                settings.tls_handshakes,
                settings.tls_handshake_concurrency,
                timeout,
            )
            .await?;
            let cpu_micros = cpu.sample()?.cpu.as_secs_f64() * 1e6 / settings.tls_handshakes as f64;
            let values = vec![
                (Metric::TlsHandshakesPerSec, outcome.handshakes_per_sec),
                (Metric::TlsHandshakeCpuMicros, cpu_micros),
            ];
            Measured::complete(values, format!("{}, server CPU {cpu_micros:.0} µs each", outcome.summary()))
        }
        TlsCase::Single => {
            let shape = LinesCase::Single.shape();
            let (outcome, cipher) =
                tls::lines(address, client, shape, settings.warmup, settings.duration, timeout).await?;
            let values = vec![
                (Metric::TlsSingleRequestsPerSec, outcome.requests_per_sec),
                (Metric::TlsSingleP99Micros, outcome.latency_micros(0.99)),
            ];
            let unclean = outcome.closed_without_close_notify > 0;
            Measured::complete(values, format!("{} ({cipher})", outcome.summary()))
                .noting_unclean_close(unclean)
        }
        TlsCase::Bulk => {
            let mut cpu = server.cpu_meter()?;
            let (outcome, cipher) =
                tls::bulk(address, client, payload, settings.bulk_write_size, timeout).await?;
            let cpu = cpu.sample()?;
            let cpu_per_mib = cpu.cpu.as_secs_f64() * 1e3 / (outcome.bytes as f64 / (1 << 20) as f64);
            let unclean = outcome.close == ServerClose::WithoutCloseNotify;
            let values = vec![
                (Metric::TlsBulkMibPerSec, outcome.mib_per_sec),
                (Metric::TlsBulkCpuMillisPerMib, cpu_per_mib),
            ];
            let summary = format!(
                "{} ({cipher}), server CPU {:.0}% of a core, {cpu_per_mib:.2} ms/MiB",
                outcome.summary(),
                cpu.percent_of_core()
            );
            Measured::complete(values, summary).noting_unclean_close(unclean)
        }
    })
}

impl Measured {
    /// Says so in the summary if the server closed without a TLS close_notify. Not a failure:
    /// the client sent close_notify and FIN together, and asyncio's SSL transport skips its own
    /// close_notify too when the FIN is seen first (`sslproto._do_shutdown`).
    fn noting_unclean_close(mut self, unclean: bool) -> Measured {
        if unclean {
            self.summary.push_str("; the server closed without TLS close_notify");
        }
        self
    }
}

async fn measure_idle(server: &RunningServer, settings: &Settings) -> Measured {
    let setup = idle::IdleSetup {
        counts: settings.idle_counts.clone(),
        open_concurrency: settings.idle_open_concurrency,
        busy_shape: LinesCase::Single.shape(),
        warmup: settings.warmup,
        duration: settings.duration,
        io_timeout: settings.io_timeout,
    };
    let outcome = idle::run(server, &setup).await;
    let size_metrics = [Metric::IdleKibPerConnectionSmall, Metric::IdleKibPerConnectionLarge];
    let mut values: Vec<(Metric, f64)> = outcome
        .kib_per_connection
        .iter()
        .zip(size_metrics)
        .map(|(&(_, kib), metric)| (metric, kib))
        .collect();
    if let Some(&(_, kib)) = outcome.guest_kib_per_connection.last() {
        values.push((Metric::IdleGuestKibPerConnection, kib));
    }
    if let Some(busy) = &outcome.busy_with_idle {
        values.push((Metric::SingleRequestsPerSecWithIdle, busy.requests_per_sec));
        if let Some(alone) = &outcome.busy_alone {
            values.push((Metric::IdleSlowdown, alone.requests_per_sec / busy.requests_per_sec));
        }
    }
    values.extend(after_vanish_values(&outcome.after_vanish));
    Measured { values, summary: outcome.summary(), failure: outcome.failure }
}

/// The idle run's numbers from after its connections vanished, as far as it got.
fn after_vanish_values(after: &idle::AfterVanish) -> Vec<(Metric, f64)> {
    let millis = |duration: std::time::Duration| duration.as_secs_f64() * 1e3;
    [
        (Metric::CpuAfterVanish, after.cpu_percent),
        (Metric::QuietAfterVanishSecs, after.quiet.map(idle::Quiet::secs)),
        (Metric::EchoAfterVanishMillis, after.echo.map(millis)),
        (Metric::FreshAfterVanishMillis, after.fresh.map(millis)),
    ]
    .into_iter()
    .filter_map(|(metric, value)| Some((metric, value?)))
    .collect()
}
