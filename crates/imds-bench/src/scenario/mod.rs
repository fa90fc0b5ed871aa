//! The scenarios, one module each. Each takes the running mock and the mode,
//! prints its section, and returns the correctness checks that failed.
//!
//! To add one (issue 6: vs aws-config, tree walk, off-EC2, memory): write
//! `scenario/pN_name.rs` with `pub async fn run(mock: &Mock, mode: Mode) ->
//! Result<Vec<String>, BoxError>`, add a variant below, and list it in
//! [`Scenario::ALL`] and [`Scenario::run`].

mod p1_hot_path;
mod p1_layer_cost;
mod p2_cold_burst;

use tower::BoxError;

use crate::fixture::Mock;

/// How much work each scenario does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Small counts: proves the suite runs (CI), seconds even in debug.
    Quick,
    /// The counts the published numbers come from.
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }

    /// `quick` in quick mode, else `full`.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }
}

/// A scenario, as named on the command line (`--only p1-hot-path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// P1: a read with a cached token, layer vs bare client.
    P1HotPath,
    /// P1: the layer's own cost per call, over an in-memory inner service.
    P1LayerCost,
    /// P2: 1,000 concurrent first reads through one fresh layer.
    P2ColdBurst,
}

impl Scenario {
    /// Every scenario, in the order a full run takes them.
    pub const ALL: &[Scenario] = &[
        Scenario::P1HotPath,
        Scenario::P1LayerCost,
        Scenario::P2ColdBurst,
    ];

    /// Runs the scenario; returns the correctness checks that failed.
    pub async fn run(self, mock: &Mock, mode: Mode) -> Result<Vec<String>, BoxError> {
        match self {
            Scenario::P1HotPath => p1_hot_path::run(mock, mode).await,
            Scenario::P1LayerCost => p1_layer_cost::run(mock, mode).await,
            Scenario::P2ColdBurst => p2_cold_burst::run(mock, mode).await,
        }
    }
}
