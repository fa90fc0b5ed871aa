//! `imds-mock`: the mock IMDS as a standalone server.
//!
//! Prints the URL it serves as the first line on stdout (one line per
//! `--listen` address, in order, when given; then, with `--control`, a line
//! `control: URL`), then serves until Ctrl-C. Exit codes: 0 after Ctrl-C,
//! 2 for bad flags or a bad config file, 1 when the server cannot start
//! (address in use, ...) or `--write-certs` cannot write. Logs go to
//! stderr;
//! `RUST_LOG` sets the filter (default `imds_mock=debug`: one line per
//! request, method, path and status only).
//!
//! Called `ec2-metadata-mock`, or with AEMM's subcommands (`spot`,
//! `events`, `asglifecycle`) or `aemm` first, it takes
//! amazon-ec2-metadata-mock's command line instead (see `cli::aemm`).

#![forbid(unsafe_code)]

mod cli;

use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use clap::Parser;
use imds_mock::{Config, MAX_PUT_RESPONSE_HOP_LIMIT, MAX_TTL_SECS};

/// A faithful mock of the EC2 instance metadata service (IMDSv2).
#[derive(Debug, Parser)]
#[command(name = "imds-mock", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 1338)]
    port: u16,
    /// Listen on ADDR (`169.254.169.254:80`, `[fd00:ec2::254]:80`) instead
    /// of --bind and --port; repeat it to listen on several addresses.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["bind", "port"])]
    listen: Vec<SocketAddr>,
    /// Send answers to token PUTs with IP TTL / IPv6 hop limit N (1..=64),
    /// as EC2's HttpPutResponseHopLimit, overriding the config.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_PUT_RESPONSE_HOP_LIMIT)))]
    hop_limit: Option<u8>,
    /// JSON config file (see the imds_mock::Config docs).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve reads without a token (IMDSv1), overriding the config.
    #[arg(long)]
    imdsv1: bool,
    /// Delay every response by this many milliseconds.
    #[arg(long, value_name = "N")]
    latency_ms: Option<u64>,
    /// Cap granted token TTLs at N seconds (1..=21600), overriding the config.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    max_ttl: Option<u64>,
    /// Answer 403 to everything, as an instance with IMDS turned off.
    #[arg(long)]
    disabled: bool,
    #[command(flatten)]
    events: cli::EventArgs,

    /// Write the certificates of the test keys that sign the identity
    /// document to DIR (rsa2048.pem, signature.pem, pkcs7.pem) before
    /// serving, for a verifier to trust.
    #[cfg(feature = "signing")]
    #[arg(long, value_name = "DIR")]
    write_certs: Option<PathBuf>,
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if let Some(aemm_args) = cli::aemm::arguments(&argv) {
        return aemm_main(aemm_args);
    }
    let args = Args::parse_from(argv);
    init_tracing();

    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("imds-mock: {error}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if args.imdsv1 {
        config.imdsv1_allowed = true;
    }
    if args.disabled {
        config.disabled = true;
    }
    if let Some(cap) = args.max_ttl {
        config.max_token_ttl_secs = Some(cap);
    }
    if let Err(error) = args.events.apply(&mut config) {
        eprintln!("imds-mock: {error}");
        return ExitCode::from(2);
    }
    if let Some(limit) = args.hop_limit {
        config.put_response_hop_limit = Some(limit);
    }
    let addrs = if args.listen.is_empty() {
        vec![SocketAddr::new(args.bind, args.port)]
    } else {
        args.listen
    };
    #[cfg(feature = "signing")]
    if let Some(dir) = &args.write_certs {
        match imds_mock::IdentitySigner::test().write_certificates(dir) {
            Ok(paths) => tracing::info!(?paths, "wrote the identity signing certificates"),
            Err(error) => {
                eprintln!(
                    "imds-mock: cannot write certificates to {}: {error}",
                    dir.display()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    run(serve(config, addrs, args.latency_ms, args.events.control))
}

/// The AEMM-compatible front: AEMM's command line, then the same server.
fn aemm_main(args: Vec<OsString>) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let launch = match cli::aemm::parse(args, &env, start_time()) {
        Ok(launch) => launch,
        Err(cli::aemm::Refused::Clap(error)) => error.exit(),
        Err(cli::aemm::Refused::Invalid(message)) => {
            eprintln!("imds-mock: {message}");
            return ExitCode::from(2);
        }
    };
    init_tracing();
    for note in &launch.notes {
        eprintln!("imds-mock: {note}");
    }
    run(serve(
        launch.config,
        vec![launch.addr],
        None,
        launch.control,
    ))
}

/// AEMM's default event window counts from the application's start, a
/// wall-clock time; outside tests, where the server clock is the system's.
#[allow(clippy::disallowed_methods)]
fn start_time() -> SystemTime {
    SystemTime::now()
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("imds_mock=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(serve: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve),
        Err(error) => {
            eprintln!("imds-mock: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    config: Config,
    addrs: Vec<SocketAddr>,
    latency_ms: Option<u64>,
    control: Option<SocketAddr>,
) -> ExitCode {
    let server = match config.start_on_all(addrs.iter().copied()).await {
        Ok(server) => server,
        Err(error) => {
            let addrs: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
            eprintln!("imds-mock: cannot serve on {}: {error}", addrs.join(", "));
            return ExitCode::FAILURE;
        }
    };
    if let Some(ms) = latency_ms {
        server.set_latency(Duration::from_millis(ms));
    }
    let control = match control {
        None => None,
        Some(addr) => match server.serve_control(addr).await {
            Ok(bound) => Some(bound),
            Err(error) => {
                eprintln!("imds-mock: cannot serve the control API on {addr}: {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    // Install the Ctrl-C handler before announcing the URL, since whoever
    // reads the line may signal at once: `ctrl_c()` registers on first poll.
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let early = std::future::poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx))).await;
    if let Poll::Ready(Err(error)) = early {
        eprintln!("imds-mock: cannot wait for Ctrl-C: {error}");
        return ExitCode::FAILURE;
    }
    let mut stdout = std::io::stdout().lock();
    let control_line = control.map_or_else(String::new, |addr| format!("control: http://{addr}\n"));
    if server
        .addrs()
        .iter()
        .try_for_each(|addr| writeln!(stdout, "http://{addr}"))
        .and_then(|()| write!(stdout, "{control_line}"))
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // Nobody can learn the URL: no point serving.
        return ExitCode::FAILURE;
    }
    drop(stdout);
    if early.is_pending()
        && let Err(error) = ctrl_c.await
    {
        eprintln!("imds-mock: cannot wait for Ctrl-C: {error}");
        return ExitCode::FAILURE;
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}
