//! Peak memory of a process holding many clones, measured in a child
//! process of this binary (`imds-bench --rss-probe KIND --clones N`, a
//! hidden mode) so that nothing else the benchmark did counts: each child
//! starts the runtime and the mock, builds what it holds, and reports its
//! peak resident set (`VmHWM` in `/proc/self/status`, Linux only).

use std::io;
use std::process::Command;

use imds_bench::fixture::{self, INSTANCE_ID, Mock, Placement, ReadRequest};
use tower::{BoxError, ServiceBuilder};
use tower_imds::ImdsV2Layer;

/// What a probe process holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Holding {
    /// The runtime and the mock only: the floor under every other probe.
    Nothing,
    /// One `imds::Client` that has read once (token cached, connection
    /// pooled), and `N` clones of it.
    Client,
    /// One `ImdsV2Layer` service over the hyper-util client that has read
    /// once, and `N` clones of it.
    Layer,
    /// `N` clients built one by one (no I/O): what clones would cost if
    /// they shared nothing.
    SeparateClients,
}

impl Holding {
    pub fn name(self) -> &'static str {
        match self {
            Holding::Nothing => "runtime and mock only",
            Holding::Client => "imds::Client + clones",
            Holding::Layer => "ImdsV2<hyper-util client> + clones",
            Holding::SeparateClients => "separately built imds::Clients",
        }
    }

    /// Size of one handle on the stack (what a clone costs with nothing
    /// on the heap).
    pub fn handle_size(self) -> usize {
        match self {
            Holding::Nothing => 0,
            Holding::Client | Holding::SeparateClients => size_of::<imds::Client>(),
            Holding::Layer => size_of::<tower_imds::ImdsV2<fixture::HttpClient>>(),
        }
    }
}

/// What a probe reported.
#[derive(Clone, Copy, Debug)]
pub struct Peak {
    /// `VmHWM`, in KiB.
    pub hwm_kib: u64,
    /// Token PUTs the mock saw (1 when all clones share one token).
    pub token_puts: u64,
}

/// Runs a probe child for `holding` × `clones` and reads its report.
pub async fn spawn(holding: Holding, clones: usize) -> Result<Peak, BoxError> {
    let exe = std::env::current_exe()?;
    let kind = clap::ValueEnum::to_possible_value(&holding)
        .ok_or("no name for the probe kind")?
        .get_name()
        .to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(exe)
            .args(["--rss-probe", &kind, "--clones", &clones.to_string()])
            .output()
    })
    .await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "the probe for {holding:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let field = |name: &str| -> Result<u64, BoxError> {
        let value = stdout
            .split_whitespace()
            .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("the probe printed no {name}: {stdout}"))?;
        Ok(value.parse()?)
    };
    Ok(Peak {
        hwm_kib: field("vmhwm_kib")?,
        token_puts: field("token_puts")?,
    })
}

/// What a probe held when it measured.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    /// Handles held: the original and its clones, or the separate clients.
    pub handles: usize,
    /// The peak, and the token PUTs the mock saw.
    pub peak: Peak,
}

/// The child's side: builds and holds `holding` × `clones`, measures, and
/// prints `holding=.. handles=.. vmhwm_kib=.. token_puts=..` for
/// [`spawn`] to read.
pub async fn probe(holding: Holding, clones: usize) -> Result<Held, BoxError> {
    let mock = Mock::start(Placement::SharedRuntime).await?;
    let uri = mock.uri(INSTANCE_ID)?;
    // Held until the report is printed.
    let mut held_clients: Vec<imds::Client> = Vec::new();
    let mut held_layers = Vec::new();
    match holding {
        Holding::Nothing => {}
        Holding::Client => {
            let client = fixture::imds_client(&mock)?;
            client.get(INSTANCE_ID).await?;
            held_clients = (0..clones).map(|_| client.clone()).collect();
            // The last clone reads with the first one's token.
            held_clients
                .last()
                .unwrap_or(&client)
                .get(INSTANCE_ID)
                .await?;
            held_clients.push(client);
        }
        Holding::Layer => {
            let service = ServiceBuilder::new()
                .layer(ImdsV2Layer::new())
                .service(fixture::client());
            let read = ReadRequest::for_layer(uri);
            let mut first = service.clone();
            fixture::send(&mut first, read.build()).await?;
            held_layers = (0..clones).map(|_| service.clone()).collect();
            let mut last = held_layers.last().cloned().unwrap_or(service);
            fixture::send(&mut last, read.build()).await?;
            held_layers.push(last);
        }
        Holding::SeparateClients => {
            for _ in 0..clones {
                held_clients.push(fixture::imds_client(&mock)?);
            }
        }
    }
    let held = Held {
        handles: held_clients.len() + held_layers.len(),
        peak: Peak {
            hwm_kib: vm_hwm_kib()?,
            token_puts: mock.stats().token_puts,
        },
    };
    println!(
        "holding={holding:?} handles={} vmhwm_kib={} token_puts={}",
        held.handles, held.peak.hwm_kib, held.peak.token_puts
    );
    drop((held_clients, held_layers));
    mock.shutdown().await;
    Ok(held)
}

/// The process's peak resident set, from `/proc/self/status`.
fn vm_hwm_kib() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmHWM in /proc/self/status"))
}

/// Whether this system reports `VmHWM`.
pub fn available() -> bool {
    vm_hwm_kib().is_ok()
}
