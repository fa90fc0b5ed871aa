//! `imds identity` and `imds verify-identity`: the instance identity
//! document, AWS's signatures over it, and their verification (on the
//! instance through the client, or of material captured elsewhere).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args as ClapArgs};
use imds::Client;
use imds::identity::{Form, IdentityError, Material, Verifier, VerifyError};

use crate::exit::Failure;
use crate::output::write_bytes;

/// Where AWS publishes its certificates, for the messages that send users
/// there.
const CERTIFICATES_PAGE: &str =
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/regions-certs.html";

/// Help of `imds identity`.
pub const IDENTITY_HELP: &str = "\
Examples:
  imds identity > document                        byte for byte, as signed
  imds identity --material rsa2048 > rsa2048      for Vault, SPIRE, ...
  imds identity --verify --max-age 10m --account 123456789012

--verify checks the rsa2048 PKCS#7 (else the signature; the legacy pkcs7
only with --allow-pkcs7) against AWS's certificate for the document's
region, embedded in imds, then the checks asked for, and prints the
document once verified. Exit status 5 when it is refused, with the check
that failed on stderr. With --mock, the mock's test certificates are
trusted too.";

/// Help of `imds verify-identity`.
pub const VERIFY_IDENTITY_HELP: &str = "\
Examples:
  imds verify-identity --document document --rsa2048 rsa2048 --max-age 5m
  imds verify-identity --document document --signature signature \\
      --cert signature=ap-east-2-rsa.pem

The files are read as they are: the document byte for byte as IMDS served
it (no newline added), the signatures as base64, with or without PEM
armour. Of the forms given, rsa2048 is checked first, then signature, then
pkcs7 (with --allow-pkcs7). IMDS is not contacted. Prints the document
once verified; exit status 5 when it is refused.";

/// `imds identity`.
#[derive(Debug, ClapArgs)]
pub struct IdentityArgs {
    /// Print this signature over the document instead, as IMDS serves it
    /// (base64, no PEM armour): rsa2048, signature or pkcs7.
    #[arg(long, value_name = "FORM", conflicts_with = "verify")]
    pub material: Option<Form>,
    /// Verify the document against AWS's signatures before printing it.
    #[arg(long)]
    pub verify: bool,
    /// What --verify checks.
    #[command(flatten)]
    pub checks: Checks,
}

/// `imds verify-identity`.
#[derive(Debug, ClapArgs)]
#[command(group(ArgGroup::new("signatures").required(true).multiple(true)))]
pub struct VerifyIdentityArgs {
    /// The identity document, byte for byte.
    #[arg(long, value_name = "FILE")]
    pub document: PathBuf,
    /// The rsa2048 PKCS#7 (base64).
    #[arg(long, value_name = "FILE", group = "signatures")]
    pub rsa2048: Option<PathBuf>,
    /// The RSA signature (base64).
    #[arg(long, value_name = "FILE", group = "signatures")]
    pub signature: Option<PathBuf>,
    /// The legacy DSA pkcs7 (base64); checked only with --allow-pkcs7.
    #[arg(long, value_name = "FILE", group = "signatures")]
    pub pkcs7: Option<PathBuf>,
    /// What is checked.
    #[command(flatten)]
    pub checks: Checks,
}

/// The certificates trusted and the policy: the flags both commands take.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Checks")]
pub struct Checks {
    /// Also trust this certificate (PEM or DER) for the document's region
    /// and FORM (rsa2048, signature or pkcs7; default: the first form the
    /// material has, rsa2048 on an instance). Repeatable.
    #[arg(long = "cert", value_name = "[FORM=]FILE", value_parser = parse_cert)]
    pub certs: Vec<CertFile>,
    /// Trust only the --cert certificates, not AWS's embedded ones.
    #[arg(long)]
    pub no_embedded_certs: bool,
    /// Refuse a document whose pendingTime (the last launch or start) is
    /// older than this (5m, 1h, 2days).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_age: Option<Duration>,
    /// Refuse a document from any other account. Repeatable.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Refuse a document from any other region.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Refuse a document of any other instance.
    #[arg(long, value_name = "ID")]
    pub instance_id: Option<String>,
    /// Also check the legacy pkcs7 (DSA, SHA-1) when no stronger form can
    /// be checked.
    #[arg(long)]
    pub allow_pkcs7: bool,
}

/// `--cert [FORM=]FILE`.
#[derive(Debug, Clone)]
pub struct CertFile {
    form: Option<Form>,
    path: PathBuf,
}

fn parse_cert(text: &str) -> Result<CertFile, String> {
    let (form, path) = match text.split_once('=') {
        Some((form, path)) if form.parse::<Form>().is_ok() => (form.parse().ok(), path),
        _ => (None, text),
    };
    if path.is_empty() {
        return Err("expected [FORM=]FILE".to_owned());
    }
    Ok(CertFile {
        form,
        path: PathBuf::from(path),
    })
}

impl Checks {
    fn any(&self) -> bool {
        !self.certs.is_empty()
            || self.no_embedded_certs
            || self.max_age.is_some()
            || !self.accounts.is_empty()
            || self.region.is_some()
            || self.instance_id.is_some()
            || self.allow_pkcs7
    }

    /// The verifier these flags describe. The `--cert` files are trusted
    /// for `region` (the document's), and `default_form` when they name
    /// none; without a region (the document is unreadable) they are read
    /// but not used, and the verifier says what is wrong with the document.
    fn verifier(&self, region: Option<&str>, default_form: Form) -> Result<Verifier, Failure> {
        let mut verifier = if self.no_embedded_certs {
            Verifier::empty()
        } else {
            Verifier::new()
        };
        for cert in &self.certs {
            let pem = read(&cert.path, "--cert")?;
            if let Some(region) = region {
                verifier = verifier
                    .with_certificate(region, cert.form.unwrap_or(default_form), pem)
                    .map_err(|error| {
                        Failure::Usage(format!("--cert {}: {error}", cert.path.display()))
                    })?;
            }
        }
        if let Some(max_age) = self.max_age {
            verifier = verifier.max_age(max_age);
        }
        if !self.accounts.is_empty() {
            verifier = verifier.allowed_accounts(self.accounts.iter().cloned());
        }
        if let Some(region) = &self.region {
            verifier = verifier.region(region);
        }
        if let Some(instance_id) = &self.instance_id {
            verifier = verifier.instance_id(instance_id);
        }
        Ok(verifier.allow_legacy_pkcs7(self.allow_pkcs7))
    }
}

/// `imds identity`: the document, a signature, or the document verified.
pub async fn identity(client: &Client, args: &IdentityArgs, mock: bool) -> Result<(), Failure> {
    let terminal = std::io::stdout().is_terminal();
    if let Some(form) = args.material {
        let material = match form {
            Form::Rsa2048 => client.identity_rsa2048().await?,
            Form::Signature => client.identity_signature().await?,
            Form::Pkcs7 => client.identity_pkcs7().await?,
        };
        return write_bytes(&format!("the {form} signature"), &material, terminal, false);
    }
    if !args.verify {
        if args.checks.any() {
            return Err(Failure::Usage(
                "--cert, --max-age, --account and the other checks need --verify".to_owned(),
            ));
        }
        let document = client.identity_document_bytes().await?;
        return write_bytes("the identity document", &document, terminal, false);
    }
    // The certificates given are trusted for the document's region.
    let region = if args.checks.certs.is_empty() && !mock {
        None
    } else {
        Some(client.identity_document().await?.region)
    };
    let verifier = args.checks.verifier(region.as_deref(), Form::Rsa2048)?;
    #[cfg(feature = "mock")]
    let verifier = match (mock, &region) {
        (true, Some(region)) => trust_the_mock(verifier, region)?,
        _ => verifier,
    };
    let verified = client
        .verify_identity(&verifier)
        .await
        .map_err(|error| match error {
            IdentityError::Refused(error) => refusal(&error, &[]),
            IdentityError::Imds(error) => Failure::Imds(error),
            other => Failure::Other(other.to_string()),
        })?;
    tracing::debug!(form = %verified.form(), certificate = ?verified.certificate(), "identity verified");
    write_bytes("the identity document", verified.bytes(), terminal, false)
}

/// `--mock`'s test certificates, for `region`.
#[cfg(feature = "mock")]
fn trust_the_mock(mut verifier: Verifier, region: &str) -> Result<Verifier, Failure> {
    for (form, mock_form) in [
        (Form::Rsa2048, imds_mock::SignatureForm::Rsa2048),
        (Form::Signature, imds_mock::SignatureForm::Signature),
        (Form::Pkcs7, imds_mock::SignatureForm::Pkcs7),
    ] {
        let pem = imds_mock::IdentitySigner::test().certificate_pem(mock_form);
        verifier = verifier
            .with_certificate(region, form, pem)
            .map_err(|error| Failure::Other(format!("the mock's {form} certificate: {error}")))?;
    }
    Ok(verifier)
}

/// `imds verify-identity`: material captured elsewhere, verified here.
pub fn verify_identity(args: &VerifyIdentityArgs) -> Result<(), Failure> {
    let document = read(&args.document, "--document")?;
    let mut material = Material::new(document.clone());
    for (form, path) in [
        (Form::Rsa2048, &args.rsa2048),
        (Form::Signature, &args.signature),
        (Form::Pkcs7, &args.pkcs7),
    ] {
        if let Some(path) = path {
            material = material.with(form, read(path, &format!("--{form}"))?);
        }
    }
    let region = serde_json::from_slice::<serde_json::Value>(&document)
        .ok()
        .and_then(|json| Some(json.get("region")?.as_str()?.to_owned()));
    // The group makes one form required.
    let first = material.forms().first().copied().unwrap_or(Form::Rsa2048);
    let verifier = args.checks.verifier(region.as_deref(), first)?;
    let verified = verifier
        .verify_at(&material, imds::clock::now())
        .map_err(|error| refusal(&error, &document))?;
    tracing::debug!(form = %verified.form(), certificate = ?verified.certificate(), "identity verified");
    write_bytes(
        "the identity document",
        verified.bytes(),
        std::io::stdout().is_terminal(),
        false,
    )
}

/// A file given with `flag`, at most `MAX_MATERIAL_LEN` bytes (a
/// document or a signature is a few kilobytes; anything larger is not
/// one, and is not read whole).
fn read(path: &PathBuf, flag: &str) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let cannot = |error: std::io::Error| {
        Failure::Other(format!("cannot read {flag} {}: {error}", path.display()))
    };
    let limit = imds::identity::MAX_MATERIAL_LEN;
    let mut content = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut content))
        .map_err(cannot)?;
    if content.len() > limit {
        return Err(Failure::Usage(format!(
            "{flag} {} is larger than {limit} bytes: not identity material",
            path.display()
        )));
    }
    Ok(content)
}

/// A refusal, in the command line's words: the flag that adds a
/// certificate or allows pkcs7, and the newline a saved document must not
/// have.
fn refusal(error: &VerifyError, document: &[u8]) -> Failure {
    let mut message = match error {
        VerifyError::NoCertificate { region, forms } => {
            let form = forms.first().copied().unwrap_or(Form::Rsa2048);
            format!(
                "no certificate for region {region} and the forms given: pass AWS's {} \
                 certificate of {region} ({CERTIFICATES_PAGE}) with --cert {form}=FILE",
                form.certificate_kind()
            )
        }
        VerifyError::NoSignature {
            pkcs7_ignored: true,
        } => "no signature to check: the pkcs7 form is checked only with --allow-pkcs7".to_owned(),
        other => other.to_string(),
    };
    let changed = matches!(
        error,
        VerifyError::ContentMismatch { .. }
            | VerifyError::BadSignature { .. }
            | VerifyError::DigestMismatch { .. }
    );
    if changed && document.ends_with(b"\n") {
        message.push_str(
            "; the document ends with a newline, which IMDS does not serve: \
             save it byte for byte (imds identity > FILE)",
        );
    }
    Failure::NotVerified(format!("the instance identity was not verified: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_flags_name_a_form_or_not() {
        let cert = parse_cert("signature=a=b.pem").unwrap();
        assert_eq!(cert.form, Some(Form::Signature));
        assert_eq!(cert.path, PathBuf::from("a=b.pem"));
        let cert = parse_cert("certs/rsa2048.pem").unwrap();
        assert_eq!(cert.form, None);
        // Not a form: all of it is the file name.
        let cert = parse_cert("dsa=x.pem").unwrap();
        assert_eq!((cert.form, cert.path), (None, PathBuf::from("dsa=x.pem")));
        assert!(parse_cert("pkcs7=").is_err());
        assert!(parse_cert("").is_err());
    }

    #[test]
    fn refusals_point_at_the_flags() {
        let error = VerifyError::NoCertificate {
            region: "ap-east-2".into(),
            forms: vec![Form::Signature],
        };
        let message = refusal(&error, b"{}").to_string();
        assert!(message.contains("--cert signature=FILE"), "{message}");
        assert!(
            message.contains("AWS's RSA certificate of ap-east-2"),
            "{message}"
        );
        let error = VerifyError::NoSignature {
            pkcs7_ignored: true,
        };
        assert!(refusal(&error, b"{}").to_string().contains("--allow-pkcs7"));
        let error = VerifyError::ContentMismatch {
            form: Form::Rsa2048,
        };
        assert!(
            refusal(&error, b"{}\n")
                .to_string()
                .contains("ends with a newline")
        );
        assert!(!refusal(&error, b"{}").to_string().contains("newline"));
        assert_eq!(refusal(&error, b"{}").code(), crate::exit::NOT_VERIFIED);
    }
}
