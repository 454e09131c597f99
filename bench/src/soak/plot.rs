//! The soak's plot: one SVG with a panel per series (RSS, guest memory, throughput) over
//! time, a line per server. Written by hand: a few polylines need no plotting crate (and
//! plotters' text layout would need system fonts).

use std::fmt::Write as _;

use super::samples::Sample;

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 30.0;
const COLORS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

/// One panel: a title, a unit, and how to read a sample.
struct Panel {
    title: &'static str,
    value: fn(&Sample) -> Option<f64>,
}

const PANELS: [Panel; 3] = [
    Panel { title: "host RSS (MiB)", value: |s| Some(s.rss_kib as f64 / 1024.0) },
    Panel { title: "guest memory (MiB)", value: |s| s.guest_kib.map(|kib| kib as f64 / 1024.0) },
    Panel { title: "echoed (MiB/s)", value: |s| Some(s.mib_per_s) },
];

/// The SVG for `series` (a server's name and samples).
pub fn svg(series: &[(String, Vec<Sample>)]) -> String {
    let height = PANELS.len() as f64 * (PANEL_HEIGHT + TOP + BOTTOM);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let end_minutes = series
        .iter()
        .filter_map(|(_, samples)| samples.last())
        .map(|s| s.at.as_secs_f64() / 60.0)
        .fold(0.0_f64, f64::max)
        .max(1.0 / 60.0);
    for (index, panel) in PANELS.iter().enumerate() {
        let top = index as f64 * (PANEL_HEIGHT + TOP + BOTTOM) + TOP;
        let max = series
            .iter()
            .flat_map(|(_, samples)| samples.iter().filter_map(panel.value))
            .fold(0.0_f64, f64::max)
            .max(1e-9)
            * 1.1;
        let plot_width = WIDTH - LEFT - RIGHT;
        let x = |minutes: f64| LEFT + minutes / end_minutes * plot_width;
        let y = |value: f64| top + PANEL_HEIGHT - value / max * PANEL_HEIGHT;
        let _ = writeln!(
            out,
            "<text x=\"{LEFT}\" y=\"{}\" font-weight=\"bold\">{}</text>",
            top - 8.0,
            panel.title
        );
        let _ = writeln!(
            out,
            "<rect x=\"{LEFT}\" y=\"{top}\" width=\"{plot_width}\" height=\"{PANEL_HEIGHT}\" fill=\"none\" stroke=\"#999\"/>"
        );
        for tick in 0..=4 {
            let value = max * tick as f64 / 4.0;
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{value:.1}</text>",
                LEFT - 6.0,
                y(value) + 4.0
            );
            let minutes = end_minutes * tick as f64 / 4.0;
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{minutes:.1} min</text>",
                x(minutes),
                top + PANEL_HEIGHT + 16.0
            );
        }
        for (number, (name, samples)) in series.iter().enumerate() {
            let color = COLORS[number % COLORS.len()];
            let points: Vec<String> = samples
                .iter()
                .filter_map(|s| {
                    Some(format!("{:.1},{:.1}", x(s.at.as_secs_f64() / 60.0), y((panel.value)(s)?)))
                })
                .collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
                points.join(" ")
            );
            let legend_y = top + 14.0 + number as f64 * 16.0;
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{legend_y}\" fill=\"{color}\">{name}</text>",
                WIDTH - RIGHT + 10.0
            );
        }
    }
    out.push_str("</svg>\n");
    out
}
