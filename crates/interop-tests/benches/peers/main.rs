//! `peers`: our `imds::Client` against aws-config's IMDS client on the same
//! `imds-mock`, on loopback (P3 throughput and latency, P5 giving up off
//! EC2). It lives here because aws-config may be compiled only in
//! `interop-tests`; the fixture and the statistics are `imds-bench`'s.
//!
//! ```text
//! cargo bench -p interop-tests --bench peers              # full run (BENCHMARKS.md)
//! cargo bench -p interop-tests --bench peers -- --quick   # seconds
//! ```
//!
//! `tests/peers_quick.rs` runs the same suite in quick mode, so that
//! `cargo test --workspace` proves it still runs. Exit code 1 when a
//! correctness check fails; speed goals are printed as met or MISSED and
//! never fail the run.

#![forbid(unsafe_code)]

mod suite;

use std::process::ExitCode;

use imds_bench::Mode;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; anything else but `--quick` is an
    // error, so that a typo does not start a full run.
    let mut mode = Mode::Full;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--bench" => {}
            other => {
                eprintln!("peers: unknown argument {other:?} (expected --quick)");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("peers: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(suite::run(mode)) {
        Ok(failures) if failures.is_empty() => {
            println!("\nAll correctness checks passed.");
            ExitCode::SUCCESS
        }
        Ok(failures) => {
            for failure in failures {
                eprintln!("FAILED: {failure}");
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("peers: {error}");
            ExitCode::FAILURE
        }
    }
}
