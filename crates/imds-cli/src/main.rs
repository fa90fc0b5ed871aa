//! `imds`: read the AWS EC2 Instance Metadata Service (IMDSv2) from a
//! shell.
//!
//! ```text
//! imds get meta-data/instance-id
//! imds dump meta-data/placement/
//! imds user-data > user-data.bin
//! eval "$(imds credentials --format env)"
//! TOKEN=$(imds token --ttl 300)
//! imds events --watch --until spot && drain-my-node
//! imds wait --timeout 60      # at boot, until IMDS answers
//! eval "$(imds env)"          # AWS_REGION, EC2_INSTANCE_ID, ...
//! imds exec -- ./app          # ./app with those set
//! imds ec2-metadata -i        # amazon-ec2-utils' ec2-metadata (also as a link of that name)
//! imds identity --verify --max-age 10m
//! imds --mock dump            # off EC2, against an embedded mock
//! ```
//!
//! Built on the `imds` client alone; tokens are cached across runs by a
//! token store on the client's token layer ([`token_cache`]). Data goes to
//! stdout, diagnostics to stderr, and exit codes are documented in
//! [`exit`].

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod credentials_cache;
mod ec2_metadata;
mod environment;
mod events;
mod exit;
mod identity;
mod output;
mod private_dir;
mod session;
mod token_cache;
mod wait;

use std::ffi::OsString;
use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Args, Command};
use crate::credentials_cache::FileCredentialsStore;
use crate::exit::Failure;
use crate::session::{Options, Session};

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // `ec2-metadata`'s syntax is its own (`-h`, `-v`): recognised first.
    if let Some((name, args)) = ec2_metadata::invoked(&argv) {
        let arguments = ec2_metadata::Arguments::parse(name, args);
        init_tracing(arguments.global.verbose);
        return block_on(ec2_metadata::run(arguments));
    }
    // Usage errors exit with 2, `--help` and `--version` with 0.
    let args = Args::parse_from(argv);
    init_tracing(args.global.verbose);
    block_on(run(args))
}

/// Runs `command` to its end on a runtime of this thread.
fn block_on(command: impl Future<Output = Result<(), Failure>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Failure::Other(format!("cannot start the async runtime: {error}")).report();
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => failure.report(),
    }
}

/// Logs go to stderr. Only this workspace's crates log, and none of them
/// ever logs a token, credentials or user data: `-vv` is as safe as no
/// flag. Warnings show without `-v`.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    // `imds` is this binary's target as well as the client's.
    let filter = ["imds", "tower_imds", "imds_mock"]
        .map(|target| format!("{target}={level}"))
        .join(",");
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(verbose > 0)
        .without_time()
        .init();
}

async fn run(args: Args) -> Result<(), Failure> {
    let global = &args.global;
    let cached = Options {
        token_cache: true,
        ..Options::default()
    };
    match &args.command {
        Command::Get { paths, json, force } => {
            let session = Session::start(global, cached).await?;
            commands::get(&session.client, paths, *json, *force).await
        }
        Command::Dump {
            prefix,
            regex,
            list,
        } => {
            let session = Session::start(global, cached).await?;
            commands::dump(&session.client, prefix, regex.as_deref(), *list).await
        }
        Command::UserData { force } => {
            let session = Session::start(global, cached).await?;
            commands::user_data(&session.client, *force).await
        }
        Command::Credentials {
            role,
            format,
            cache,
        } => {
            let options = Options {
                role: role.as_deref(),
                ..cached
            };
            let session = Session::start(global, options).await?;
            let store = (*cache && !global.mock)
                .then(|| FileCredentialsStore::for_client(&session.client))
                .flatten();
            commands::credentials(&session.client, *format, store).await
        }
        Command::Events(events) => {
            let session = Session::start(global, cached).await?;
            events::run(&session.client, events).await
        }
        Command::Token => {
            // Not through the cache: the token is new, and lives --ttl
            // seconds from now.
            let session = Session::start(global, Options::default()).await?;
            let token = session.client.token().await?.ok_or(Failure::NoToken)?;
            Ok(output::write_stdout(
                format!("{}\n", token.expose_secret()).as_bytes(),
            )?)
        }
        Command::Wait { paths } => {
            // Here --timeout is the whole wait's; each attempt keeps the
            // environment's or the default timeout.
            let mut global = global.clone();
            let timeout = global.timeout.take().unwrap_or(wait::DEFAULT_TIMEOUT);
            let session = Session::start(&global, cached).await?;
            wait::wait(&session.client, paths, timeout).await
        }
        Command::Env { paths, credentials } => {
            let session = Session::start(global, cached).await?;
            let variables = environment::variables(&session.client, paths, *credentials).await?;
            Ok(output::write_stdout(variables.exports().as_bytes())?)
        }
        Command::Exec {
            paths,
            credentials,
            command,
        } => {
            let session = Session::start(global, cached).await?;
            let variables = environment::variables(&session.client, paths, *credentials).await?;
            Err(environment::exec(command, variables))
        }
        Command::Ec2Metadata { .. } => Err(Failure::Usage(
            "ec2-metadata takes imds's options after its name: imds ec2-metadata --mock -i"
                .to_owned(),
        )),
        Command::Identity(identity_args) => {
            let session = Session::start(global, cached).await?;
            identity::identity(&session.client, identity_args, global.mock).await
        }
        // Material captured elsewhere: IMDS is not read.
        Command::VerifyIdentity(verify_args) => identity::verify_identity(verify_args),
    }
}
