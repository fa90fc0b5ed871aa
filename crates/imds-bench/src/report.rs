//! Printing: the run's preamble and Markdown tables that paste straight
//! into BENCHMARKS.md.

use std::time::Duration;

use crate::{Mode, fixture::Placement};

/// What the numbers below were measured on and with, under the heading
/// `# {title}`.
pub fn preamble(title: &str, mode: Mode, placement: Placement) {
    let build = if cfg!(debug_assertions) {
        "debug (numbers not meaningful)"
    } else {
        "release"
    };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("# {title}");
    println!();
    println!("- mode: {}", mode.name());
    println!("- build: {build}");
    println!("- cores available: {cores}");
    println!("- CPU: {}", cpu_model().unwrap_or_else(|| "unknown".into()));
    if let Some(kernel) = kernel() {
        println!("- kernel: {kernel}");
    }
    let server = match placement {
        Placement::SharedRuntime => "on the client's runtime",
        Placement::OwnThread => "on its own thread (current-thread runtime)",
    };
    println!("- client: tokio multi-thread runtime, {cores} workers");
    println!("- server: imds-mock on 127.0.0.1, {server}");
}

fn kernel() -> Option<String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    Some(format!(
        "Linux {} {}",
        release.trim(),
        std::env::consts::ARCH
    ))
}

fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

/// A section heading.
pub fn heading(title: &str) {
    println!();
    println!("## {title}");
    println!();
}

/// A Markdown table, columns padded so it also reads well in a terminal.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row, one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// Prints the table to stdout.
    pub fn print(&self) {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|row| row[i].chars().count())
                    .chain([self.header[i].chars().count(), 3])
                    .max()
                    .unwrap_or(3)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, &width)| format!("{cell:<width$}"))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(&self.header);
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        println!("|-{}-|", rule.join("-|-"));
        for row in &self.rows {
            line(row);
        }
    }
}

/// A latency in the unit that suits it.
pub fn duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// Requests per second.
pub fn rate(requests: usize, elapsed: Duration) -> String {
    if elapsed.is_zero() {
        return "-".into();
    }
    format!("{:.0}/s", requests as f64 / elapsed.as_secs_f64())
}

/// A ratio, as `1.234×`.
pub fn times(ratio: f64) -> String {
    format!("{ratio:.3}×")
}

/// `met` or `MISSED` for a ratio that should be at most `goal`.
pub fn verdict(ratio: f64, goal: f64) -> &'static str {
    if ratio <= goal { "met" } else { "MISSED" }
}

/// `met` or `MISSED` for a ratio that should be at least `goal`.
pub fn verdict_at_least(ratio: f64, goal: f64) -> &'static str {
    if ratio >= goal { "met" } else { "MISSED" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration(Duration::from_nanos(31_240)), "31.2 µs");
        assert_eq!(duration(Duration::from_micros(2_500)), "2.50 ms");
        assert_eq!(duration(Duration::from_millis(1_500)), "1.50 s");
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(1.049, 1.05), "met");
        assert_eq!(verdict(1.051, 1.05), "MISSED");
        assert_eq!(verdict(f64::NAN, 1.05), "MISSED");
    }
}
