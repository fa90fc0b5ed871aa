//! The scenarios, one module each. Each takes the running mock and the mode,
//! prints its section, and returns the correctness checks that failed.
//!
//! To add one: write `scenario/pN_name.rs` with `pub async fn run(mock:
//! &Mock, mode: Mode) -> Result<Vec<String>, BoxError>`, add a variant
//! below, and list it in [`Scenario::ALL`] and [`Scenario::run`]. The
//! scenarios against aws-config (P3, P5) live in `interop-tests`' `peers`
//! bench, the only crate allowed to compile it.

mod memory;
mod p1_hot_path;
mod p1_layer_cost;
mod p2_cold_burst;
mod p4_walk;
mod p6_events;

use imds_bench::{Mode, fixture::Mock};
use tower::BoxError;

/// A scenario, as named on the command line (`--only p1-hot-path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// P1: a read with a cached token: bare client, layer, `Client::get`.
    P1HotPath,
    /// P1: the layer's and the client's own cost per call, over an
    /// in-memory inner service.
    P1LayerCost,
    /// P2: 1,000 concurrent first reads through one fresh layer.
    P2ColdBurst,
    /// P4: the whole tree with 1 ms per request: `walk()` vs a serial walk
    /// vs the floor.
    P4Walk,
    /// Peak RSS of processes holding 10,000 clones of the client and of
    /// the layer.
    Memory,
    /// P6: the event watcher: GETs, CPU and memory per poll cycle, against
    /// one plain read.
    P6Events,
}

impl Scenario {
    /// Every scenario, in the order a full run takes them.
    pub const ALL: &[Scenario] = &[
        Scenario::P1HotPath,
        Scenario::P1LayerCost,
        Scenario::P2ColdBurst,
        Scenario::P4Walk,
        Scenario::Memory,
        Scenario::P6Events,
    ];

    /// Runs the scenario; returns the correctness checks that failed.
    pub async fn run(self, mock: &Mock, mode: Mode) -> Result<Vec<String>, BoxError> {
        match self {
            Scenario::P1HotPath => p1_hot_path::run(mock, mode).await,
            Scenario::P1LayerCost => p1_layer_cost::run(mock, mode).await,
            Scenario::P2ColdBurst => p2_cold_burst::run(mock, mode).await,
            Scenario::P4Walk => p4_walk::run(mode).await,
            Scenario::Memory => memory::run(mode).await,
            Scenario::P6Events => p6_events::run(mode).await,
        }
    }
}
