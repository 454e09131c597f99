//! `flood`: one connection streams the bulk payload as fast as the server echoes it (and
//! reads the echo back, checking every byte) while the [probe](super::probe) measures how long
//! another client's short lines take. A server whose busy connection never yields makes the
//! probe wait for the whole stream.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;

use crate::bulk_payload::BulkPayload;
use crate::scenario::bulk::{self, BulkOutcome};
use crate::scenario::probe::{Probe, ProbeOutcome};

/// The probe's connection id (the flood's lines carry none).
const PROBE_ID: usize = 1;

pub struct FloodOutcome {
    pub flood: BulkOutcome,
    pub probe: ProbeOutcome,
}

impl FloodOutcome {
    pub fn summary(&self) -> String {
        format!("flood {}; {}", self.flood.summary(), self.probe.summary())
    }
}

pub async fn run(
    address: SocketAddr,
    payload: &BulkPayload,
    write_size: usize,
    io_timeout: Duration,
) -> Result<FloodOutcome> {
    let probe = Probe::start(address, PROBE_ID, io_timeout).await?;
    let flood = bulk::run(address, payload, write_size, io_timeout).await;
    // The probe is stopped (and its errors reported) even if the flood failed.
    let probe = probe.finish().await;
    Ok(FloodOutcome { flood: flood?, probe: probe? })
}
