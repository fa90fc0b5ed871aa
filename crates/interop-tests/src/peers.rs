//! Real SDKs in other languages, installed on demand: botocore and boto3
//! from PyPI, the AWS SDK for JavaScript v3's IMDS clients from npm.
//!
//! The versions are pinned in `peers/python/requirements.txt` (with the
//! wheels' hashes) and `peers/node/package-lock.json` (with the packages'
//! integrity hashes). They are installed into a cache folder,
//! `interop-peers/{python,node}` under the target directory
//! (`$CARGO_TARGET_DIR`, else the workspace's `target/`; or
//! `$IMDS_INTEROP_PEERS_DIR`), once: a stamp records what was installed,
//! and a lock file makes parallel test processes wait for one installer.
//! CI runs `cargo run -p interop-tests --bin install-peers` first; a test
//! that finds the cache missing installs it itself, so `cargo test
//! --workspace` works on a machine with only Rust, Python 3 and Node.
//!
//! Only the installation talks to a registry. A peer script runs with an
//! empty environment plus what the test gives it (the mock's address,
//! an isolated `HOME`), so no proxy, no real credentials and no config
//! file of the machine's reach it.
//!
//! ```no_run
//! let python = interop_tests::peers::Peer::python().expect("Python peers");
//! let mut command = python.command("botocore_peer.py");
//! command.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338");
//! let output = command.output().expect("the script ran");
//! ```

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The environment variable a peer script finds its installed packages by.
pub const PEERS_DIR_VAR: &str = "IMDS_PEERS_DIR";

/// Written into an installed folder: what was installed, with which
/// interpreter version. A different stamp means install again.
const STAMP: &str = ".installed";

/// Why a peer cannot run here: no interpreter, or the installation failed
/// (no registry, an interpreter too old). Says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable(String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

impl Unavailable {
    /// `reason`, for a test that cannot run here for a reason of its own
    /// (no IPv6 loopback, ...), so that it skips by the same rule.
    pub fn new(reason: impl Into<String>) -> Self {
        Unavailable(reason.into())
    }

    /// Reports the skip on stderr, naming `what` was skipped. When the
    /// environment variable `CI` is set a skip is a failure: this panics.
    pub fn skip(&self, what: &str) {
        // On the stderr handle itself: libtest captures `eprintln!` of
        // passing tests, and a skip must show.
        let line = self.skip_line(what, std::env::var_os("CI").is_some());
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    fn skip_line(&self, what: &str, ci: bool) -> String {
        assert!(!ci, "{what}: {self} (CI is set: a skip is a failure)");
        format!("skipped: {what}: {self}")
    }
}

/// The two ecosystems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecosystem {
    /// botocore and boto3, from PyPI.
    Python,
    /// `@smithy/credential-provider-imds` and `@aws-sdk/ec2-metadata-service`, from npm.
    Node,
}

impl Ecosystem {
    /// `python` or `node`: the folder under `peers/` and under the cache.
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Python => "python",
            Ecosystem::Node => "node",
        }
    }

    /// The files that pin what is installed.
    fn pins(self) -> &'static [&'static str] {
        match self {
            Ecosystem::Python => &["requirements.txt"],
            Ecosystem::Node => &["package.json", "package-lock.json"],
        }
    }
}

/// An installed peer: its interpreter and the folder its packages are in.
#[derive(Clone, Debug)]
pub struct Peer {
    ecosystem: Ecosystem,
    interpreter: PathBuf,
    dir: PathBuf,
}

impl Peer {
    /// botocore and boto3, installed first if the cache lacks them. Once
    /// per process; later calls return the first answer.
    pub fn python() -> Result<Peer, Unavailable> {
        static PYTHON: OnceLock<Result<Peer, Unavailable>> = OnceLock::new();
        PYTHON.get_or_init(|| ensure(Ecosystem::Python)).clone()
    }

    /// The JavaScript SDK's IMDS clients, installed first if the cache
    /// lacks them. Once per process.
    pub fn node() -> Result<Peer, Unavailable> {
        static NODE: OnceLock<Result<Peer, Unavailable>> = OnceLock::new();
        NODE.get_or_init(|| ensure(Ecosystem::Node)).clone()
    }

    /// The folder the packages are installed in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `script` (a file in `peers/<ecosystem>/`) with an empty
    /// environment but for [`PEERS_DIR_VAR`]; add what the script needs.
    /// Python runs with `-s -B`: no user site-packages, no `.pyc` files
    /// written into the repository.
    pub fn command(&self, script: &str) -> Command {
        let mut command = Command::new(&self.interpreter);
        command.env_clear();
        if self.ecosystem == Ecosystem::Python {
            command.args(["-s", "-B"]);
        }
        command
            .arg(peers_source().join(self.ecosystem.name()).join(script))
            .env(PEERS_DIR_VAR, &self.dir);
        command
    }
}

/// `crates/interop-tests/peers`: the pins and the scripts.
pub fn peers_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Where the peers are installed: `$IMDS_INTEROP_PEERS_DIR`, else
/// `interop-peers` under `$CARGO_TARGET_DIR` or the workspace's `target/`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMDS_INTEROP_PEERS_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("interop-peers")
}

/// Finds the interpreter, then installs the pinned packages unless the
/// cache already holds exactly them, one installer at a time.
fn ensure(ecosystem: Ecosystem) -> Result<Peer, Unavailable> {
    let (interpreter, version) = locate(ecosystem)?;
    let root = cache_dir();
    let failed =
        |what: &str, error: io::Error| Unavailable(format!("{what} {}: {error}", root.display()));
    fs::create_dir_all(&root).map_err(|e| failed("cannot create", e))?;
    let lock = File::create(root.join(format!(".{}.lock", ecosystem.name())))
        .map_err(|e| failed("cannot create a lock file in", e))?;
    // Held until `lock` drops: another process installing waits here.
    lock.lock().map_err(|e| failed("cannot lock", e))?;

    let dir = root.join(ecosystem.name());
    let stamp = stamp(ecosystem, &version)?;
    if fs::read_to_string(dir.join(STAMP)).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(Peer {
            ecosystem,
            interpreter,
            dir,
        });
    }
    let partial = root.join(format!("{}.partial", ecosystem.name()));
    remove_dir(&partial).map_err(|e| failed("cannot clear", e))?;
    fs::create_dir_all(&partial).map_err(|e| failed("cannot create", e))?;
    install(ecosystem, &interpreter, &partial)?;
    fs::write(partial.join(STAMP), &stamp).map_err(|e| failed("cannot write a stamp in", e))?;
    remove_dir(&dir).map_err(|e| failed("cannot replace", e))?;
    fs::rename(&partial, &dir).map_err(|e| failed("cannot move the installation into", e))?;
    Ok(Peer {
        ecosystem,
        interpreter,
        dir,
    })
}

fn remove_dir(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// The pins' text and the interpreter's version: what an installation is.
fn stamp(ecosystem: Ecosystem, version: &str) -> Result<String, Unavailable> {
    let mut stamp = format!("{} {version}\n", ecosystem.name());
    for pin in ecosystem.pins() {
        let path = peers_source().join(ecosystem.name()).join(pin);
        let text = fs::read_to_string(&path)
            .map_err(|e| Unavailable(format!("cannot read {}: {e}", path.display())))?;
        stamp.push_str(&text);
    }
    Ok(stamp)
}

/// The interpreter's absolute path and version, checked against what the
/// pinned packages need (Python 3.10, Node 20). The absolute path lets
/// scripts run with an empty environment (pyenv's shims need `HOME`).
fn locate(ecosystem: Ecosystem) -> Result<(PathBuf, String), Unavailable> {
    let (program, args, minimum): (&str, &[&str], (u32, u32)) = match ecosystem {
        Ecosystem::Python => (
            "python3",
            &[
                "-c",
                "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])",
            ],
            (3, 10),
        ),
        Ecosystem::Node => (
            "node",
            &["-p", "process.execPath + '\\n' + process.versions.node"],
            (20, 0),
        ),
    };
    let output = Command::new(program).args(args).output().map_err(|e| {
        Unavailable(format!(
            "`{program}` cannot be run ({e}); install {} to run these tests",
            match ecosystem {
                Ecosystem::Python => "Python 3.10 or later",
                Ecosystem::Node => "Node.js 20 or later (with npm)",
            }
        ))
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let (Some(path), Some(version), true) = (lines.next(), lines.next(), output.status.success())
    else {
        return Err(Unavailable(format!(
            "`{program}` did not say where it is: {}",
            tail(&output)
        )));
    };
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if found < minimum {
        return Err(Unavailable(format!(
            "{program} {version} is too old: the pinned packages need {}.{} or later",
            minimum.0, minimum.1
        )));
    }
    Ok((PathBuf::from(path), version.to_owned()))
}

/// Installs the pinned packages into `into` (which exists and is empty).
/// The installer runs with the machine's environment: its registry,
/// certificates and proxy settings are the user's.
fn install(ecosystem: Ecosystem, interpreter: &Path, into: &Path) -> Result<(), Unavailable> {
    let source = peers_source().join(ecosystem.name());
    let mut command = match ecosystem {
        Ecosystem::Python => {
            let mut pip = Command::new(interpreter);
            pip.args(["-m", "pip", "install", "--require-hashes", "--only-binary"])
                .args([":all:", "--no-input", "--disable-pip-version-check"])
                .args(["--no-warn-script-location", "--timeout", "60", "--quiet"])
                .arg("--target")
                .arg(into)
                .arg("-r")
                .arg(source.join("requirements.txt"));
            pip
        }
        Ecosystem::Node => {
            for pin in ecosystem.pins() {
                fs::copy(source.join(pin), into.join(pin)).map_err(|e| {
                    Unavailable(format!("cannot copy {pin} to {}: {e}", into.display()))
                })?;
            }
            let mut npm = Command::new("npm");
            npm.args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .args([
                    "--loglevel=error",
                    "--fetch-timeout=60000",
                    "--fetch-retries=2",
                ])
                .current_dir(into);
            npm
        }
    };
    let output = command.output().map_err(|e| {
        Unavailable(format!(
            "the {} installer cannot be run: {e}",
            ecosystem.name()
        ))
    })?;
    if !output.status.success() {
        return Err(Unavailable(format!(
            "installing the pinned {} packages failed (is the registry reachable?): {}",
            ecosystem.name(),
            tail(&output)
        )));
    }
    Ok(())
}

/// The last lines of a command's stderr (else stdout), for an error.
fn tail(output: &Output) -> String {
    let text = if output.stderr.is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(8);
    format!("{} ({})", lines[start..].join(" | "), output.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_changes_with_the_pins_and_the_interpreter() {
        let a = stamp(Ecosystem::Python, "3.11.7").unwrap();
        assert!(a.contains("botocore==1.44.8"), "{a}");
        assert_ne!(a, stamp(Ecosystem::Python, "3.12.0").unwrap());
        let node = stamp(Ecosystem::Node, "20.20.2").unwrap();
        assert!(node.contains("\"@smithy/credential-provider-imds\": \"4.5.2\""));
    }

    #[test]
    fn a_skip_names_what_was_skipped_and_why_and_fails_under_ci() {
        let reason = Unavailable("`python3` cannot be run".into());
        assert_eq!(
            reason.skip_line("botocore", false),
            "skipped: botocore: `python3` cannot be run"
        );
        let under_ci = std::panic::catch_unwind(|| reason.skip_line("botocore", true));
        assert!(under_ci.is_err(), "under CI a skip fails");
    }
}
