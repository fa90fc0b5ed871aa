//! `imds-mock`: the mock IMDS as a standalone server.
//!
//! Prints the URL it serves as the only line on stdout, then serves until
//! Ctrl-C. Exit codes: 0 after Ctrl-C, 2 for bad flags or a bad config file,
//! 1 when the server cannot start (address in use, ...) or `--write-certs`
//! cannot write. Logs go to stderr; `RUST_LOG` sets the filter (default
//! `imds_mock=debug`: one line per request, method, path and status only).

#![forbid(unsafe_code)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::task::Poll;
use std::time::Duration;

use clap::Parser;
use imds_mock::{Config, MAX_TTL_SECS};

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
    /// Write the certificates of the test keys that sign the identity
    /// document to DIR (rsa2048.pem, signature.pem, pkcs7.pem) before
    /// serving, for a verifier to trust.
    #[cfg(feature = "signing")]
    #[arg(long, value_name = "DIR")]
    write_certs: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("imds_mock=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

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

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("imds-mock: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(
        config,
        SocketAddr::new(args.bind, args.port),
        args.latency_ms,
    ))
}

async fn serve(config: Config, addr: SocketAddr, latency_ms: Option<u64>) -> ExitCode {
    let server = match config.start_on(addr).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("imds-mock: cannot serve on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(ms) = latency_ms {
        server.set_latency(Duration::from_millis(ms));
    }
    // Install the Ctrl-C handler before announcing the URL, since whoever
    // reads the line may signal at once: `ctrl_c()` registers on first poll.
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let early = std::future::poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx))).await;
    if let Poll::Ready(Err(error)) = early {
        eprintln!("imds-mock: cannot wait for Ctrl-C: {error}");
        return ExitCode::FAILURE;
    }
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{}", server.base_url())
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
