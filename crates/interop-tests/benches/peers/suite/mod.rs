//! The peer scenarios, shared by the `peers` bench and the quick-mode test
//! (`tests/peers_quick.rs` includes this module by path).

mod aws;
mod p3_throughput;
mod p5_netns;
mod p5_off_ec2;

use imds_bench::{
    Mode,
    fixture::{Mock, Placement},
    report,
};
use tower::BoxError;

/// Runs P3 and P5 (on loopback, then in network namespaces); returns the
/// correctness checks that failed.
pub async fn run(mode: Mode) -> Result<Vec<String>, BoxError> {
    report::preamble("peers", mode, Placement::SharedRuntime);
    println!("- aws-config: {}", aws::VERSION);
    let mock = Mock::start(Placement::SharedRuntime).await?;
    let mut failures = p3_throughput::run(&mock, mode).await?;
    mock.shutdown().await;
    failures.extend(p5_off_ec2::run(mode).await?);
    failures.extend(p5_netns::run(mode).await?);
    Ok(failures)
}
