//! A private cache directory, as the token cache ([`token_cache`]) and the
//! credentials cache ([`credentials_cache`]) keep their files: where it is,
//! how a file is named, when a directory or file is trusted, and how a
//! file is written.
//!
//! # Rules
//!
//! - Where: `$XDG_CACHE_HOME/imds/<kind>/` (an absolute `XDG_CACHE_HOME`
//!   only, as the XDG spec says), else `$HOME/.cache/imds/<kind>/`.
//! - One file per key, named from the key with every byte outside
//!   `[A-Za-z0-9.-]` written as `_XX` (hex), plus `.json`:
//!   `http://[fd00:ec2::254]:80` is
//!   `http_3A_2F_2F_5Bfd00_3Aec2_3A_3A254_5D_3A80.json`. The encoding is
//!   injective, and no name can contain a `/` or be `.` or `..`.
//! - The directory is created `0700`; a file is written `0600` to a
//!   temporary file in the same directory (the `tempfile` crate's: created
//!   exclusively, so never through a planted symlink), synced, then renamed
//!   over the old one: a reader sees the old file or the new one, never
//!   half of one.
//! - A directory or file that is not owned by the user running the command,
//!   or that group or others may read or write, is not trusted: nothing is
//!   read from it and nothing is written to it. Symbolic links are not
//!   followed.
//!
//! The effective user ID comes from [`rustix::process::geteuid`]: `std`
//! has no way to ask it, `libc::geteuid` needs `unsafe`, and reading
//! `/proc/self/status` works on Linux only while the caches also serve
//! `--mock` runs on laptops. rustix is a small, safe wrapper over the
//! system call.
//!
//! [`token_cache`]: crate::token_cache
//! [`credentials_cache`]: crate::credentials_cache

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Files larger than this are not read: a token file is about 100 bytes,
/// a credentials file about 1.5 KiB.
const MAX_FILE_SIZE: u64 = 16 * 1024;

/// Encoded names longer than this are not used (file names are limited to
/// 255 bytes; real keys are far shorter).
const MAX_NAME_LEN: usize = 200;

/// What [`PrivateDir::save`] fails with: what the token and credentials
/// stores fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A private directory of cache files. See the [module docs](self).
#[derive(Debug)]
pub struct PrivateDir {
    dir: PathBuf,
    /// The owner the directory and every file must have.
    uid: u32,
}

impl PrivateDir {
    /// `dir`, trusting the effective user's files only.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::owned_by(dir, rustix::process::geteuid().as_raw())
    }

    /// `dir`, trusting `uid`'s files only.
    pub fn owned_by(dir: impl Into<PathBuf>, uid: u32) -> Self {
        Self {
            dir: dir.into(),
            uid,
        }
    }

    /// The user's cache directory of `kind` (`tokens`, `credentials`), from
    /// `XDG_CACHE_HOME` or `HOME` as looked up by `var`; `None` when
    /// neither gives an absolute path.
    pub fn default_dir(var: impl Fn(&str) -> Option<OsString>, kind: &str) -> Option<PathBuf> {
        let absolute = |name: &str, suffix: &str| {
            let value = PathBuf::from(var(name)?);
            value.is_absolute().then(|| value.join(suffix))
        };
        let cache = absolute("XDG_CACHE_HOME", "").or_else(|| absolute("HOME", ".cache"))?;
        Some(cache.join("imds").join(kind))
    }

    /// The file for `key`; `None` when the key is too long to name a file
    /// after.
    pub fn file(&self, key: &str) -> Option<PathBuf> {
        Some(self.dir.join(file_name(key)?))
    }

    /// Why `metadata` (of the directory or a file) is not trusted, if it
    /// is not.
    fn distrust(&self, metadata: &fs::Metadata) -> Option<String> {
        if metadata.uid() != self.uid {
            return Some(format!(
                "it is owned by uid {}, not by uid {}",
                metadata.uid(),
                self.uid
            ));
        }
        let mode = metadata.mode() & 0o777;
        (mode & 0o077 != 0).then(|| format!("its mode {mode:04o} lets group or others in"))
    }

    /// The text of `path` (a file of this directory), when the directory
    /// and the file exist and are trusted. `None` when either does not
    /// exist, or, with a warning naming the cached `what` (`IMDS tokens`),
    /// when either is not trusted or cannot be read. At most
    /// [`MAX_FILE_SIZE`] bytes are read.
    pub fn load(&self, path: &Path, what: &str) -> Option<String> {
        match self.check() {
            Ok(true) => {}
            Ok(false) => return None,
            Err(reason) => {
                tracing::warn!(dir = %self.dir.display(), "not using the cached {what}: {reason}");
                return None;
            }
        }
        match self.read(path) {
            Ok(text) => text,
            Err(reason) => {
                tracing::warn!(file = %path.display(), "not using the cached {what}: {reason}");
                None
            }
        }
    }

    /// Creates the directory if needed, checks it, and writes `content` to
    /// `path` (a file of this directory) atomically, `0600`. `Err` with the
    /// reason the directory is not trusted (naming the cached `what`), or
    /// the I/O error.
    pub fn save(&self, path: &Path, content: &[u8], what: &str) -> Result<(), BoxError> {
        let untrusted = |reason: String| -> BoxError {
            format!("not caching {what} in {}: {reason}", self.dir.display()).into()
        };
        if !self.check().map_err(untrusted)? {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)?;
            // Created now, or by another run meanwhile: check either way.
            self.check().map_err(untrusted)?;
        }
        Ok(write_atomically(path, content)?)
    }

    /// Checks the directory: `Ok(false)` when it does not exist, `Err` with
    /// the reason when it is not trusted.
    fn check(&self) -> Result<bool, String> {
        match fs::symlink_metadata(&self.dir) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(format!("cannot inspect it: {error}")),
            Ok(metadata) if !metadata.is_dir() => Err("it is not a directory".to_owned()),
            Ok(metadata) => match self.distrust(&metadata) {
                Some(reason) => Err(reason),
                None => Ok(true),
            },
        }
    }

    /// The text of `path` (a file of this directory): `Ok(None)` when there
    /// is no such file, `Err` with the reason when it is not trusted or
    /// cannot be read. The directory is the caller's to
    /// [`check`](Self::check) first.
    fn read(&self, path: &Path) -> Result<Option<String>, String> {
        match fs::symlink_metadata(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("cannot inspect it: {error}")),
            Ok(metadata) if !metadata.is_file() => {
                return Err("it is not a regular file".to_owned());
            }
            Ok(_) => {}
        }
        let mut file = File::open(path).map_err(|error| format!("cannot open it: {error}"))?;
        // Checked on the open file, so a file swapped in after the check
        // above is checked too.
        let metadata = file
            .metadata()
            .map_err(|error| format!("cannot inspect it: {error}"))?;
        if let Some(reason) = self.distrust(&metadata) {
            return Err(reason);
        }
        let mut text = String::new();
        match (&mut file).take(MAX_FILE_SIZE).read_to_string(&mut text) {
            Ok(_) => Ok(Some(text)),
            // Not UTF-8, for instance: as corrupt as unparseable content.
            Err(_) => Ok(Some(String::new())),
        }
    }
}

/// The file name for `key`; `None` when too long.
fn file_name(key: &str) -> Option<String> {
    let mut name = String::with_capacity(key.len() + 16);
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-' {
            name.push(char::from(byte));
        } else {
            let _ = write!(name, "_{byte:02X}");
        }
    }
    name.push_str(".json");
    (name.len() <= MAX_NAME_LEN).then_some(name)
}

/// Writes `content` to `path` through a `0600` temporary file in the same
/// directory, synced and renamed over `path`.
fn write_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".imds-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temporary.write_all(content)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    // Makes the rename itself durable; a failure here loses nothing but
    // the cache entry after a crash.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_injective_and_safe() {
        assert_eq!(
            file_name("http://169.254.169.254").unwrap(),
            "http_3A_2F_2F169.254.169.254.json"
        );
        assert_eq!(
            file_name("http://[fd00:ec2::254]:80").unwrap(),
            "http_3A_2F_2F_5Bfd00_3Aec2_3A_3A254_5D_3A80.json"
        );
        // `_` is escaped too, so `a_3A` and `a:` differ.
        assert_ne!(file_name("a_3A"), file_name("a:"));
        for hostile in ["../../etc/passwd", "/", "..", "a/b\0c", "x\ny"] {
            let name = file_name(hostile).unwrap();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                "{name}"
            );
            assert!(!name.contains('/') && name != "." && name != "..");
        }
        assert_eq!(file_name(&"h".repeat(300)), None);
    }

    #[test]
    fn default_dir_prefers_an_absolute_xdg_cache_home() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.into())
            }
        };
        let default_dir = |pairs, kind| PrivateDir::default_dir(vars(pairs), kind);
        assert_eq!(
            default_dir(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")], "tokens"),
            Some(PathBuf::from("/c/imds/tokens"))
        );
        assert_eq!(
            default_dir(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")], "credentials"),
            Some(PathBuf::from("/h/.cache/imds/credentials"))
        );
        assert_eq!(default_dir(&[("HOME", "")], "tokens"), None);
        assert_eq!(default_dir(&[], "tokens"), None);
    }
}
