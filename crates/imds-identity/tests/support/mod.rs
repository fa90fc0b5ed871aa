//! Access to the real AWS-signed samples in `../shared/iid-samples` (next
//! to the workspace; never copied into the repository), and checks shared
//! by the tests.
//!
//! The folder's README.txt says where each sample comes from. Set
//! `IID_SAMPLES_DIR` to read them from elsewhere.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use imds_identity::{Form, Material};

/// The samples' folder, or `None` after reporting the skip on stderr.
/// With `CI` set, a missing folder fails the test instead.
pub fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IID_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/iid-samples")
        });
    if dir.join("README.txt").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "../shared/iid-samples not found at {} (CI is set: a skip is a failure)",
        dir.display()
    );
    skip_note("skipped: ../shared/iid-samples not found");
    None
}

/// One sample folder: `document` plus the forms its source published.
pub struct Sample {
    pub name: &'static str,
    pub dir: PathBuf,
}

impl Sample {
    pub fn new(samples: &Path, name: &'static str) -> Self {
        Sample {
            name,
            dir: samples.join("samples").join(name),
        }
    }

    pub fn document(&self) -> Vec<u8> {
        read(&self.dir.join("document"))
    }

    /// `form`'s file as IMDS serves it (base64, no armour), if published.
    pub fn raw(&self, form: Form) -> Option<Vec<u8>> {
        let path = self.dir.join(form.as_str());
        path.is_file().then(|| read(&path))
    }

    /// `form`'s decoded bytes (`rsa2048.der`, `signature.bin`, ...).
    pub fn decoded(&self, form: Form) -> Option<Vec<u8>> {
        let name = match form {
            Form::Signature => "signature.bin".to_owned(),
            other => format!("{other}.der"),
        };
        let path = self.dir.join(name);
        path.is_file().then(|| read(&path))
    }

    /// The document with `form` only, as served.
    pub fn material(&self, form: Form) -> Material {
        let raw = self
            .raw(form)
            .unwrap_or_else(|| panic!("{} has no {form}", self.name));
        Material::new(self.document()).with(form, raw)
    }

    /// The document with every form the sample has.
    pub fn all_material(&self) -> Material {
        Form::PREFERENCE
            .into_iter()
            .filter_map(|form| self.raw(form).map(|raw| (form, raw)))
            .fold(Material::new(self.document()), |m, (form, raw)| {
                m.with(form, raw)
            })
    }

    pub fn region(&self) -> String {
        let json: serde_json::Value = serde_json::from_slice(&self.document()).unwrap();
        json["region"].as_str().unwrap().to_owned()
    }
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn cert(samples: &Path, file: &str) -> Vec<u8> {
    read(&samples.join("certs").join(file))
}

pub fn base64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Every sample folder's name, as in README.txt.
pub const ALL: [&str; 16] = [
    "ap-northeast-2_2022-03-27_i-00e3338c5c02cfd02_ansible-facts",
    "ap-northeast-2_2022-03-27_i-0140f65cf5b9ba76a_ansible-facts",
    "ap-southeast-2_2018-09-26_pkcs7_detached",
    "ap-southeast-2_2020-02-27_pkcs7_detached",
    "ap-southeast-2_2025-02-05_metaphor-cloud",
    "ap-southeast-2_2026-02-16_metaphor-cloud",
    "us-east-1_2016-04-08_fullsailor-pkcs7",
    "us-east-1_2017-12-29_unattributed-go-test",
    "us-east-1_2018-01-22_taskcluster-ec2-manager",
    "us-west-1_2021-09-11_teleport-join-ec2-test-instance2",
    "us-west-2_2016-09-09_grailbio-base",
    "us-west-2_2017-12-05_grailbio-base",
    "us-west-2_2018-05-09_taskcluster-iid-verify",
    "us-west-2_2019-08-15_taskcluster-worker-manager",
    "us-west-2_2021-06-11_teleport-rfd0041",
    "us-west-2_2021-09-03_teleport-join-ec2-test-instance1",
];

/// An error message must not carry signature material: no run of 24 or
/// more base64 characters (slashes aside, for URLs), and no piece of the
/// material given.
pub fn assert_no_blob(message: &str, material: &[u8]) {
    let mut run = 0;
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || c == '+' || c == '=' {
            run += 1;
            assert!(run < 24, "a base64-like run in {message:?}");
        } else {
            run = 0;
        }
    }
    let text = String::from_utf8_lossy(material);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for start in (0..compact.len().saturating_sub(12)).step_by(7) {
        let piece = &compact[start..start + 12];
        assert!(
            !message.contains(piece),
            "{message:?} quotes the material ({piece})"
        );
    }
}
#[cfg(feature = "legacy-pkcs7")]
pub mod fuzz_oracle;

/// Says a test skipped, on the stderr handle itself: libtest captures
/// `eprintln!` of passing tests, and a skip must show.
fn skip_note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
