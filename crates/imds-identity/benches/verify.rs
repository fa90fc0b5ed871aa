//! Verifications per second: `imds_identity::Verifier` on real AWS-signed
//! samples (`../shared/iid-samples`), side by side in one run with AWS's
//! recipe from the EC2 user guide, a process per verification, when
//! `openssl` is on PATH (a comparison peer only, never a dependency):
//!
//! - rsa2048: `openssl smime -verify -in rsa2048.pem -inform PEM -certfile
//!   CERT -noverify`, then its output compared with the document;
//! - signature: `openssl dgst -sha256 -verify KEY -signature signature.bin
//!   document`, the key taken out of the certificate once beforehand
//!   (`openssl x509 -pubkey -noout`), as the guide does.
//!
//! ```text
//! cargo bench -p imds-identity --bench verify              # ~2 s per row
//! cargo bench -p imds-identity --bench verify -- --quick   # ~0.2 s per row
//! ```
//!
//! Exit code 1 when a verification that must pass fails (ours or the
//! recipe's); skipped (exit 0) when the samples are not there.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, SystemTime};

use imds_identity::{Form, Material, Verifier};
use tokio::time::Instant;

/// Sample A of the README: ap-southeast-2, 2026, rsa2048 and signature.
const SAMPLE: &str = "ap-southeast-2_2026-02-16_metaphor-cloud";
const RSA2048_CERT: &str = "rsa2048_ap-southeast-2.pem";
const RSA_CERT: &str = "rsa_2024-2029_ap-southeast-2.pem";

struct Row {
    what: String,
    count: u64,
    elapsed: Duration,
}

impl Row {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn micros_each(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.count as f64
    }
}

/// Runs `verify` for about `budget`, counting successes; a failure stops
/// the run.
fn measure(what: &str, budget: Duration, mut verify: impl FnMut() -> bool) -> Result<Row, String> {
    if !verify() {
        return Err(format!("{what}: the first verification failed"));
    }
    let start = Instant::now();
    let mut count = 0;
    while start.elapsed() < budget {
        if !verify() {
            return Err(format!("{what}: verification {count} failed"));
        }
        count += 1;
    }
    Ok(Row {
        what: what.to_owned(),
        count,
        elapsed: start.elapsed(),
    })
}

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn run(samples: &Path, budget: Duration) -> Result<Vec<Row>, String> {
    let dir = samples.join("samples").join(SAMPLE);
    let read = |path: PathBuf| std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()));
    let document = read(dir.join("document"))?;
    let material = |form: Form| -> Result<Material, String> {
        Ok(Material::new(document.clone()).with(form, read(dir.join(form.as_str()))?))
    };
    let now = SystemTime::UNIX_EPOCH;
    let verifier = Verifier::new();
    // The first verification in a process also parses the embedded table.
    let first = material(Form::Rsa2048)?;
    let start = Instant::now();
    let first_ok = verifier.verify_at(&first, now).is_ok();
    let first_took = start.elapsed();
    if !first_ok {
        return Err("rsa2048: the first verification failed".into());
    }
    eprintln!(
        "first verification in the process (parses the embedded table): {:.1} ms",
        first_took.as_secs_f64() * 1e3
    );
    let mut rows = Vec::new();

    for form in [Form::Rsa2048, Form::Signature] {
        let material = material(form)?;
        rows.push(measure(&format!("{form}: imds-identity"), budget, || {
            verifier
                .verify_at(&material, now)
                .is_ok_and(|verified| verified.form() == form)
        })?);
    }

    if !openssl_available() {
        eprintln!("openssl not on PATH: AWS's recipe is not measured");
        return Ok(rows);
    }
    let rsa2048_pem = dir.join("rsa2048.pem");
    let rsa2048_cert = samples.join("certs").join(RSA2048_CERT);
    rows.push(measure("rsa2048: openssl smime (recipe)", budget, || {
        Command::new("openssl")
            .args(["smime", "-verify", "-in"])
            .arg(&rsa2048_pem)
            .args(["-inform", "PEM", "-certfile"])
            .arg(&rsa2048_cert)
            .arg("-noverify")
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|output| output.status.success() && output.stdout == document)
    })?);

    let key_dir = std::env::temp_dir().join(format!("imds-identity-bench-{}", std::process::id()));
    std::fs::create_dir_all(&key_dir).map_err(|e| format!("{}: {e}", key_dir.display()))?;
    let key = key_dir.join("key.pem");
    let extracted = Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(samples.join("certs").join(RSA_CERT))
        .output()
        .map_err(|e| format!("openssl x509: {e}"))?;
    std::fs::write(&key, &extracted.stdout).map_err(|e| format!("{}: {e}", key.display()))?;
    let signature_bin = dir.join("signature.bin");
    let document_path = dir.join("document");
    let row = measure("signature: openssl dgst (recipe)", budget, || {
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(&key)
            .arg("-signature")
            .arg(&signature_bin)
            .arg(&document_path)
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|output| {
                output.status.success() && output.stdout.starts_with(b"Verified OK")
            })
    });
    let _ = std::fs::remove_dir_all(&key_dir);
    rows.push(row?);
    Ok(rows)
}

fn main() -> ExitCode {
    let mut budget = Duration::from_secs(2);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => budget = Duration::from_millis(200),
            "--bench" => {}
            other => {
                eprintln!("verify: unknown argument {other:?} (expected --quick)");
                return ExitCode::FAILURE;
            }
        }
    }
    let samples = std::env::var_os("IID_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/iid-samples")
        });
    if !samples.join("README.txt").is_file() {
        eprintln!("skipped: ../shared/iid-samples not found");
        return ExitCode::SUCCESS;
    }
    match run(&samples, budget) {
        Ok(rows) => {
            println!(
                "{:<36} {:>12} {:>12} {:>10}",
                "verification", "per second", "us each", "count"
            );
            for row in &rows {
                println!(
                    "{:<36} {:>12.0} {:>12.1} {:>10}",
                    row.what,
                    row.per_second(),
                    row.micros_each(),
                    row.count
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}
