//! The `peers` bench (ours vs aws-config, P3 and P5 of BENCHMARKS.md) in
//! quick mode, so that `cargo test --workspace` proves it still runs and its
//! correctness checks hold: every read answered, no token PUT while tokens
//! are cached, every read from an absent IMDS failing. No timing is judged.

#[path = "../benches/peers/suite/mod.rs"]
mod suite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_scenarios_run_in_quick_mode() {
    let failures = suite::run(imds_bench::Mode::Quick).await.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
}
