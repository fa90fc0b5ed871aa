//! `imds-bench`: how much `tower-imds` costs, measured side by side with the
//! bare hyper-util client on loopback against `imds-mock`.
//!
//! ```text
//! cargo run -p imds-bench --release            # full run (BENCHMARKS.md)
//! cargo run -p imds-bench -- --quick           # seconds, even in debug (CI)
//! cargo run -p imds-bench --release -- --only p1-hot-path --server-thread
//! cargo run -p imds-bench --release -- --profile layer --requests 200000
//! ```
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

mod fixture;
mod measure;
mod profile;
mod report;
mod scenario;

use std::process::ExitCode;

use clap::Parser;
use tower::BoxError;

use crate::{
    fixture::{Mock, Placement, Variant},
    scenario::{Mode, Scenario},
};

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
    let placement = if args.server_thread {
        Placement::OwnThread
    } else {
        Placement::SharedRuntime
    };
    let mock = Mock::start(placement).await?;
    let outcome = match args.profile {
        Some(variant) => profile::run(&mock, variant, args.requests)
            .await
            .map(|()| true),
        None => benchmark(&mock, placement, &args).await,
    };
    mock.shutdown().await;
    outcome
}

async fn benchmark(mock: &Mock, placement: Placement, args: &Args) -> Result<bool, BoxError> {
    let mode = if args.quick { Mode::Quick } else { Mode::Full };
    report::preamble(mode, placement);
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
    }

    // What CI's `--quick` run proves, as a test: every scenario runs to the
    // end and its correctness checks hold (one PUT per cold burst, none with
    // a cached or given token, a 200 for every read). No timing is judged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn quick_run_passes_its_checks() {
        assert!(
            run(Args::parse_from(["imds-bench", "--quick"]))
                .await
                .unwrap()
        );
    }

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
    async fn profile_mode_runs_both_variants() {
        for variant in ["bare", "layer"] {
            let args = Args::parse_from(["imds-bench", "--profile", variant, "--requests", "20"]);
            assert!(run(args).await.unwrap());
        }
    }
}
