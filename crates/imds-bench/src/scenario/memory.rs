//! Memory: the peak RSS of a process holding 10,000 clones of our client,
//! and of the layer's service, each set beside the same process holding
//! the one original only. Clones share their state (token cache,
//! connection pool, settings), so the growth should be the handles alone:
//! `size_of` the handle per clone, nothing per clone on the heap. A process
//! holding as many separately built clients shows what sharing saves.
//!
//! Every figure comes from a child process of its own (see `rss.rs`);
//! children run one after another.

use imds_bench::{
    Mode,
    report::{self, Table},
};
use tower::BoxError;

use crate::rss::{self, Holding, Peak};

/// Heap bytes per clone beyond the handle itself, at most, to call the
/// growth flat (page and allocator granularity leave a little).
const FLAT: f64 = 16.0;

pub async fn run(mode: Mode) -> Result<Vec<String>, BoxError> {
    report::heading("Memory: peak RSS holding 10,000 clones");
    if !rss::available() {
        println!("Skipped: this system has no /proc/self/status VmHWM.");
        return Ok(Vec::new());
    }
    let clones: usize = mode.pick(1_000, 10_000);
    let repeats: usize = mode.pick(1, 3);
    let mut failures = Vec::new();
    // The smallest peak of a few children: the least disturbed.
    let peak = async |holding, n| -> Result<Peak, BoxError> {
        let mut best: Option<Peak> = None;
        for _ in 0..repeats {
            let peak = rss::spawn(holding, n).await?;
            if best.is_none_or(|b| peak.hwm_kib < b.hwm_kib) {
                best = Some(peak);
            }
        }
        best.ok_or_else(|| "no probe ran".into())
    };
    let nothing = peak(Holding::Nothing, 0).await?;
    println!(
        "Each row a child process (`imds-bench --rss-probe KIND --clones N`): runtime, \
         mock, what it holds; VmHWM, smallest of {repeats}. The original has read once \
         (token cached, connection pooled), and the last clone reads once more."
    );
    println!();
    let mut table = Table::new(&[
        "holding",
        "handles",
        "peak RSS",
        "growth over 1 handle",
        "per extra handle",
        "size_of handle",
        "token PUTs",
    ]);
    table.row(vec![
        Holding::Nothing.name().into(),
        "0".into(),
        kib(nothing.hwm_kib),
        "-".into(),
        "-".into(),
        "-".into(),
        nothing.token_puts.to_string(),
    ]);
    let mut verdicts = Vec::new();
    for holding in [Holding::Client, Holding::Layer, Holding::SeparateClients] {
        let (one, many) = if holding == Holding::SeparateClients {
            (peak(holding, 1).await?, peak(holding, clones).await?)
        } else {
            (peak(holding, 0).await?, peak(holding, clones).await?)
        };
        let growth = many.hwm_kib.saturating_sub(one.hwm_kib);
        let extra = if holding == Holding::SeparateClients {
            clones - 1
        } else {
            clones
        };
        let per = growth as f64 * 1024.0 / extra as f64;
        table.row(vec![
            holding.name().into(),
            format!("1 + {}", extra),
            kib(many.hwm_kib),
            kib(growth),
            format!("{per:.0} B"),
            format!("{} B", holding.handle_size()),
            many.token_puts.to_string(),
        ]);
        if holding != Holding::SeparateClients {
            if many.token_puts != 1 {
                failures.push(format!(
                    "Memory: {} clones of {holding:?} sent {} token PUTs, not 1",
                    clones, many.token_puts
                ));
            }
            let heap = per - holding.handle_size() as f64;
            verdicts.push(format!(
                "{}: {heap:.0} B per clone beyond the handle (flat ≤ {FLAT} B: {})",
                holding.name(),
                if heap <= FLAT { "met" } else { "MISSED" }
            ));
        }
    }
    table.print();
    println!();
    for verdict in verdicts {
        println!("- {verdict}");
    }
    Ok(failures)
}

/// KiB as MiB with two decimals, or KiB when small.
fn kib(kib: u64) -> String {
    if kib >= 1024 {
        format!("{:.2} MiB", kib as f64 / 1024.0)
    } else {
        format!("{kib} KiB")
    }
}
