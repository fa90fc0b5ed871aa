//! `imds-bench`: how much `tower-imds` and `imds::Client` cost, measured
//! side by side with the bare hyper-util client on loopback against
//! `imds-mock`; the tree walk against a serial walk; memory per clone.
//!
//! ```text
//! cargo run -p imds-bench --release            # full run (BENCHMARKS.md)
//! cargo run -p imds-bench -- --quick           # seconds, even in debug (CI)
//! cargo run -p imds-bench --release -- --only p1-hot-path --server-thread
//! cargo run -p imds-bench --release -- --profile client --requests 200000
//! cargo run -p imds-bench --release -- --profile client --requests 200000 --tasks 64
//! ```
//!
//! The comparisons with aws-config (P3, P5) are in `interop-tests`' `peers`
//! bench: `cargo bench -p interop-tests --bench peers`.
//!
//! The machines this runs on are shared and noisy, so an absolute time means
//! little: every scenario measures the variants it compares in the same run,
//! interleaved round by round, and prints their ratio. Speed goals are
//! printed as met or missed but never fail the run; correctness (a 200 for
//! every read, exactly one token PUT for a cold burst) does, with exit code 1.
//!
//! One module per scenario under [`scenario`]; a new one is a module plus a
//! variant of [`scenario::Scenario`].

#![forbid(unsafe_code)]

mod profile;
mod rss;
mod scenario;

use std::process::ExitCode;

use clap::Parser;
use imds_bench::{
    Mode,
    fixture::{Mock, Placement, Variant},
    report,
};
use tower::BoxError;

use crate::scenario::Scenario;

/// Benchmarks of tower-imds against the bare hyper-util client, on loopback
/// against imds-mock.
#[derive(Debug, Parser)]
#[command(name = "imds-bench")]
struct Args {
    /// Small counts: proves the suite runs, in a few seconds even in a debug
    /// build. The numbers it prints are not worth quoting.
    #[arg(long)]
    quick: bool,

    /// Run only these scenarios (comma-separated). Default: all.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,

    /// Instead of benchmarking, send `--requests` sequential reads through
    /// one variant only, for a profiler (`perf record`, `heaptrack`) to
    /// watch.
    #[arg(long, value_enum)]
    profile: Option<Variant>,

    /// Serve the mock from a runtime on an OS thread of its own rather than
    /// from the benchmark's runtime: a longer round trip, closer to a server
    /// in another process.
    #[arg(long)]
    server_thread: bool,

    /// Number of reads for `--profile`.
    #[arg(long, default_value_t = 100_000, requires = "profile")]
    requests: u64,

    /// For `--profile`: spread the reads over this many concurrent tasks
    /// (1: one after the other on the main task).
    #[arg(long, default_value_t = 1, requires = "profile")]
    tasks: usize,

    /// The memory scenario's child: hold this, report the peak RSS.
    #[arg(long, value_enum, hide = true)]
    rss_probe: Option<rss::Holding>,

    /// For `--rss-probe`: how many clones (or separate clients) to hold.
    #[arg(long, default_value_t = 0, hide = true, requires = "rss_probe")]
    clones: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("imds-bench: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("imds-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs what `args` asks for; `Ok(false)` when a correctness check failed.
async fn run(args: Args) -> Result<bool, BoxError> {
    if let Some(holding) = args.rss_probe {
        return rss::probe(holding, args.clones).await.map(|_| true);
    }
    let placement = if args.server_thread {
        Placement::OwnThread
    } else {
        Placement::SharedRuntime
    };
    let mock = Mock::start(placement).await?;
    let outcome = match args.profile {
        Some(variant) => profile::run(&mock, variant, args.requests, args.tasks)
            .await
            .map(|()| true),
        None => benchmark(&mock, placement, &args).await,
    };
    mock.shutdown().await;
    outcome
}

async fn benchmark(mock: &Mock, placement: Placement, args: &Args) -> Result<bool, BoxError> {
    let mode = if args.quick { Mode::Quick } else { Mode::Full };
    report::preamble("imds-bench", mode, placement);
    let scenarios = if args.only.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.only.clone()
    };
    let mut failures = Vec::new();
    for scenario in scenarios {
        failures.extend(scenario.run(mock, mode).await?);
    }
    if failures.is_empty() {
        println!("\nAll correctness checks passed.");
        Ok(true)
    } else {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Args::command().debug_assert();
        let args = Args::parse_from([
            "imds-bench",
            "--quick",
            "--only",
            "p2-cold-burst,p1-hot-path",
        ]);
        assert_eq!(args.only, [Scenario::P2ColdBurst, Scenario::P1HotPath]);
        assert!(Args::try_parse_from(["imds-bench", "--requests", "5"]).is_err());
        assert!(Args::try_parse_from(["imds-bench", "--clones", "5"]).is_err());
        let probe = Args::parse_from(["imds-bench", "--rss-probe", "client", "--clones", "3"]);
        assert_eq!(
            (probe.rss_probe, probe.clones),
            (Some(rss::Holding::Client), 3)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rss_probes_hold_what_they_say() {
        // In-process: the probe itself, not the child's report.
        for holding in [rss::Holding::Client, rss::Holding::Layer] {
            let held = rss::probe(holding, 10).await.unwrap();
            assert_eq!(held.handles, 11, "{holding:?}");
            assert_eq!(
                held.peak.token_puts, 1,
                "{holding:?}: clones share one token"
            );
            assert!(held.peak.hwm_kib > 0);
        }
        let held = rss::probe(rss::Holding::SeparateClients, 3).await.unwrap();
        assert_eq!((held.handles, held.peak.token_puts), (3, 0));
    }

    // The whole `--quick` run is `tests/quick.rs`: the memory scenario
    // spawns this binary, which a unit test's executable is not.

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn quick_run_with_the_server_on_its_own_thread() {
        let args = Args::parse_from([
            "imds-bench",
            "--quick",
            "--server-thread",
            "--only",
            "p2-cold-burst",
        ]);
        assert!(run(args).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn profile_mode_runs_every_variant() {
        for variant in ["bare", "layer", "client"] {
            let args = Args::parse_from(["imds-bench", "--profile", variant, "--requests", "20"]);
            assert!(run(args).await.unwrap());
            let args = Args::parse_from([
                "imds-bench",
                "--profile",
                variant,
                "--requests",
                "20",
                "--tasks",
                "4",
            ]);
            assert!(run(args).await.unwrap());
        }
    }
}
