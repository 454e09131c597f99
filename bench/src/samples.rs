//! The measurements of all repetitions, per server and metric, and their medians.

use std::collections::BTreeMap;

use crate::column::Column;
use crate::servers::ServerKind;

/// A run that failed, for the report's notes.
pub struct Failure {
    pub server: ServerKind,
    pub run: String,
    pub repetition: usize,
    pub error: String,
}

#[derive(Default)]
pub struct Samples {
    values: BTreeMap<(ServerKind, Column), Vec<f64>>,
    /// Runs that should have yielded the metric and did not.
    misses: BTreeMap<(ServerKind, Column), usize>,
    pub failures: Vec<Failure>,
}

/// What a table cell shows.
pub enum Cell {
    NotRun,
    Failed,
    /// The median, and whether some repetitions failed.
    Median {
        value: f64,
        incomplete: bool,
    },
}

impl Samples {
    pub fn record(&mut self, server: ServerKind, column: Column, value: f64) {
        self.values.entry((server, column)).or_default().push(value);
    }

    pub fn record_miss(&mut self, server: ServerKind, column: Column) {
        *self.misses.entry((server, column)).or_default() += 1;
    }

    pub fn record_failure(&mut self, failure: Failure) {
        self.failures.push(failure);
    }

    pub fn median(&self, server: ServerKind, column: Column) -> Option<f64> {
        median(self.values.get(&(server, column))?)
    }

    pub fn cell(&self, server: ServerKind, column: Column) -> Cell {
        let missed = self.misses.get(&(server, column)).copied().unwrap_or(0);
        match self.median(server, column) {
            Some(value) => Cell::Median { value, incomplete: missed > 0 },
            None if missed > 0 => Cell::Failed,
            None => Cell::NotRun,
        }
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
