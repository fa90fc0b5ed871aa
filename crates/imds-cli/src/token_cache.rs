//! The token cache across invocations: [`FileTokenStore`], a
//! [`TokenStore`] of the token layer that keeps one file per endpoint.
//!
//! Every run of the command is a new process with an empty in-memory token
//! cache; without this store each run would `PUT` a new token, as the
//! Python `ec2imds` tool's `on_load_token`/`on_new_token` callbacks avoid.
//! The layer asks [`load`](TokenStore::load) before it fetches a token and
//! hands every token it gets to [`save`](TokenStore::save); the store adds
//! no cache of its own.
//!
//! # Rules
//!
//! - Where: `$XDG_CACHE_HOME/imds/tokens/` (an absolute `XDG_CACHE_HOME`
//!   only, as the XDG spec says), else `$HOME/.cache/imds/tokens/`.
//! - One file per endpoint, named from the endpoint with every byte outside
//!   `[A-Za-z0-9.-]` written as `_XX` (hex): `http://[fd00:ec2::254]:80`
//!   is `http_3A_2F_2F_5Bfd00_3Aec2_3A_3A254_5D_3A80.json`. The encoding is
//!   injective, and no name can contain a `/` or be `.` or `..`.
//! - The directory is created `0700`; a file is written `0600` to a
//!   temporary file in the same directory (the `tempfile` crate's: created
//!   exclusively, so never through a planted symlink), synced, then
//!   renamed over the old one: a reader sees the old file or the new one,
//!   never half of one.
//! - Content: `{"token": "...", "expires_at": UNIX_SECONDS}`.
//! - A token is treated as expired 30 s before `expires_at`: a shell script
//!   gets a token with time left to use it.
//! - A directory or file that is not owned by the user running the command,
//!   or that group or others may read or write, is not trusted: nothing is
//!   read from it (a warning says why) and nothing is written to it.
//! - A file that cannot be parsed is ignored, and replaced by the next save.
//! - A token the layer already had in this process (loaded or saved) is not
//!   loaded again: the layer only asks again once its copy was refused (a
//!   401, after which the file still holds that token) or is due for
//!   refresh, and either way it needs a new one.
//!
//! The effective user ID comes from [`rustix::process::geteuid`]: `std`
//! has no way to ask it, `libc::geteuid` needs `unsafe`, and reading
//! `/proc/self/status` works on Linux only while the cache also serves
//! `--mock` runs on laptops. rustix is a small, safe wrapper over the
//! system call.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imds::{MetadataToken, StoredToken, TokenEndpoint, TokenStore, clock};
use serde::{Deserialize, Serialize};

/// What a [`TokenStore`] fails with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A stored token this close to its expiry is not loaded.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// Files larger than this are not read: a token file is about 100 bytes.
const MAX_FILE_SIZE: u64 = 16 * 1024;

/// Encoded endpoint names longer than this are not cached (file names are
/// limited to 255 bytes; real endpoints are far shorter).
const MAX_NAME_LEN: usize = 200;

/// A [`TokenStore`] keeping one file per endpoint in a private directory.
/// See the [module docs](self) for the rules.
pub struct FileTokenStore {
    dir: PathBuf,
    /// The owner every directory and file must have.
    uid: u32,
    /// Tokens the layer already had in this process.
    seen: Mutex<HashSet<String>>,
}

impl fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTokenStore")
            .field("dir", &self.dir)
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

/// The file's content.
#[derive(Serialize, Deserialize)]
struct TokenFile {
    token: String,
    expires_at: u64,
}

impl FileTokenStore {
    /// A store in `dir`, trusting the effective user's files only.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::owned_by(dir, rustix::process::geteuid().as_raw())
    }

    /// A store in `dir`, trusting `uid`'s files only.
    fn owned_by(dir: impl Into<PathBuf>, uid: u32) -> Self {
        Self {
            dir: dir.into(),
            uid,
            seen: Mutex::default(),
        }
    }

    /// The user's token cache directory, from `XDG_CACHE_HOME` or `HOME`
    /// as looked up by `var`; `None` when neither gives an absolute path.
    pub fn default_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
        let absolute = |name: &str, suffix: &str| {
            let value = PathBuf::from(var(name)?);
            value.is_absolute().then(|| value.join(suffix))
        };
        let cache = absolute("XDG_CACHE_HOME", "").or_else(|| absolute("HOME", ".cache"))?;
        Some(cache.join("imds").join("tokens"))
    }

    /// The file for `endpoint`; `None` for an endpoint without scheme and
    /// host, or one too long to name a file after.
    pub fn path_for(&self, endpoint: &TokenEndpoint) -> Option<PathBuf> {
        endpoint.authority()?;
        let name = file_name(&endpoint.to_string())?;
        Some(self.dir.join(name))
    }

    fn remember(&self, token: &str) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.to_owned());
    }

    fn has_seen(&self, token: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(token)
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

    /// Checks the directory: `Ok(false)` when it does not exist.
    fn check_dir(&self) -> Result<bool, String> {
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

    /// The token in `path`, if the file is trusted, parses and has not
    /// (nearly) expired.
    fn read(&self, path: &Path, now: SystemTime) -> Option<StoredToken> {
        let untrusted = |reason: &str| {
            tracing::warn!(
                file = %path.display(),
                "not using the IMDS token cache file: {reason}"
            );
        };
        match fs::symlink_metadata(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                untrusted(&format!("cannot inspect it: {error}"));
                return None;
            }
            Ok(metadata) if !metadata.is_file() => {
                untrusted("it is not a regular file");
                return None;
            }
            Ok(_) => {}
        }
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(error) => {
                untrusted(&format!("cannot open it: {error}"));
                return None;
            }
        };
        // Checked on the open file, so a file swapped in after the check
        // above is checked too.
        let metadata = file.metadata().ok()?;
        if let Some(reason) = self.distrust(&metadata) {
            untrusted(&reason);
            return None;
        }
        let mut text = String::new();
        let read = (&mut file).take(MAX_FILE_SIZE).read_to_string(&mut text);
        let parsed = read
            .ok()
            .and_then(|_| serde_json::from_str::<TokenFile>(&text).ok())
            .and_then(|content| {
                let token = MetadataToken::try_from(content.token).ok()?;
                let expires_at = UNIX_EPOCH.checked_add(Duration::from_secs(content.expires_at))?;
                Some((token, expires_at))
            });
        let Some((token, expires_at)) = parsed else {
            tracing::debug!(file = %path.display(), "IMDS token cache file is corrupt; ignoring it");
            return None;
        };
        if expires_at <= now + EXPIRY_MARGIN {
            tracing::debug!(file = %path.display(), "cached IMDS token has expired");
            return None;
        }
        if self.has_seen(token.expose_secret()) {
            tracing::debug!(file = %path.display(), "cached IMDS token was already used by this run; not reusing it");
            return None;
        }
        Some(StoredToken { token, expires_at })
    }

    /// Creates the directory if needed, and checks it.
    fn prepare_dir(&self) -> Result<(), BoxError> {
        if !self.check_dir().map_err(|reason| self.dir_error(&reason))? {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)?;
            // Created now, or by another run meanwhile: check either way.
            self.check_dir().map_err(|reason| self.dir_error(&reason))?;
        }
        Ok(())
    }

    fn dir_error(&self, reason: &str) -> BoxError {
        format!(
            "not caching IMDS tokens in {}: {reason}",
            self.dir.display()
        )
        .into()
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self, endpoint: &TokenEndpoint) -> Result<Option<StoredToken>, BoxError> {
        let Some(path) = self.path_for(endpoint) else {
            return Ok(None);
        };
        match self.check_dir() {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(reason) => {
                tracing::warn!(
                    dir = %self.dir.display(),
                    "not using the IMDS token cache: {reason}"
                );
                return Ok(None);
            }
        }
        let stored = self.read(&path, clock::now());
        if let Some(stored) = &stored {
            self.remember(stored.token.expose_secret());
        }
        Ok(stored)
    }

    fn save(&self, endpoint: &TokenEndpoint, stored: &StoredToken) -> Result<(), BoxError> {
        self.remember(stored.token.expose_secret());
        let path = self
            .path_for(endpoint)
            .ok_or_else(|| format!("IMDS endpoint {endpoint} cannot be cached"))?;
        self.prepare_dir()?;
        let expires_at = stored
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let content = serde_json::to_vec(&TokenFile {
            token: stored.token.expose_secret().to_owned(),
            expires_at,
        })?;
        write_atomically(&path, &content)?;
        tracing::debug!(file = %path.display(), "IMDS token saved to the cache");
        Ok(())
    }
}

/// The file name for an endpoint (`http://host:port`); `None` when too
/// long.
fn file_name(endpoint: &str) -> Option<String> {
    let mut name = String::with_capacity(endpoint.len() + 16);
    for byte in endpoint.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-' {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("_{byte:02X}"));
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
        .prefix(".imds-token-")
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
    use std::os::unix::fs::PermissionsExt;

    const TOKEN: &str = "AQAEAKnFwz5Dqk5LwU6ZBwZmS0vKbQexampleTOKENexampleTOKEN==";

    /// A fresh private (`0700`) directory, removed on drop.
    fn temp_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("imds-cli-{name}-"))
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .unwrap()
    }

    fn endpoint(uri: &str) -> TokenEndpoint {
        TokenEndpoint::of(&uri.parse().unwrap())
    }

    fn stored(token: &str, expires_in: Duration) -> StoredToken {
        StoredToken {
            token: token.parse().unwrap(),
            expires_at: clock::now() + expires_in,
        }
    }

    fn me() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    fn loaded(store: &FileTokenStore, at: &TokenEndpoint) -> Option<String> {
        store
            .load(at)
            .unwrap()
            .map(|stored| stored.token.expose_secret().to_owned())
    }

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
        assert_eq!(
            FileTokenStore::default_dir(vars(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c/imds/tokens"))
        );
        assert_eq!(
            FileTokenStore::default_dir(vars(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/imds/tokens"))
        );
        assert_eq!(FileTokenStore::default_dir(vars(&[("HOME", "")])), None);
        assert_eq!(FileTokenStore::default_dir(vars(&[])), None);
    }

    #[test]
    fn save_then_load_in_another_process_round_trips() {
        let temp = temp_dir("roundtrip");
        let dir = temp.path().join("cache/imds/tokens");
        let at = endpoint("http://127.0.0.1:1338/latest/");
        let saved = stored(TOKEN, Duration::from_secs(21_600));
        FileTokenStore::new(&dir).save(&at, &saved).unwrap();

        // Private directories (every one created), private file.
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&temp.path().join("cache/imds")), 0o700);
        let path = dir.join("http_3A_2F_2F127.0.0.1_3A1338.json");
        assert_eq!(mode(&path), 0o600);
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["token"], TOKEN);
        let expires_at = saved.expires_at.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(json["expires_at"], expires_at.as_secs());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);

        // A new process (a new store) loads it.
        let next = FileTokenStore::new(&dir);
        assert_eq!(loaded(&next, &at).as_deref(), Some(TOKEN));
        // Another endpoint has nothing.
        assert_eq!(loaded(&next, &endpoint("http://127.0.0.1:1339/")), None);
    }

    #[test]
    fn nothing_cached_yet_is_none_and_creates_nothing() {
        let temp = temp_dir("empty");
        let dir = temp.path().join("tokens");
        let store = FileTokenStore::new(&dir);
        assert_eq!(loaded(&store, &endpoint("http://127.0.0.1:1/")), None);
        assert!(!dir.exists());
    }

    #[test]
    fn tokens_expire_thirty_seconds_early() {
        let temp = temp_dir("expiry");
        let at = endpoint("http://127.0.0.1:1/");
        FileTokenStore::new(temp.path())
            .save(&at, &stored(TOKEN, Duration::from_secs(29)))
            .unwrap();
        assert_eq!(loaded(&FileTokenStore::new(temp.path()), &at), None);
        FileTokenStore::new(temp.path())
            .save(&at, &stored(TOKEN, Duration::from_secs(40)))
            .unwrap();
        assert_eq!(
            loaded(&FileTokenStore::new(temp.path()), &at).as_deref(),
            Some(TOKEN)
        );
    }

    #[test]
    fn corrupt_files_are_ignored_and_replaced() {
        let temp = temp_dir("corrupt");
        let at = endpoint("http://127.0.0.1:1/");
        let store = FileTokenStore::new(temp.path());
        let path = store.path_for(&at).unwrap();
        for junk in [
            &b""[..],
            b"{",
            b"\xff\xfe",
            b"[]",
            br#"{"token": "has space", "expires_at": 99999999999}"#,
            br#"{"token": "ok", "expires_at": -1}"#,
            br#"{"token": "ok"}"#,
            br#"{"token": "ok", "expires_at": 18446744073709551615}"#,
        ] {
            fs::write(&path, junk).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(
                loaded(&FileTokenStore::new(temp.path()), &at),
                None,
                "{junk:?}"
            );
        }
        store
            .save(&at, &stored(TOKEN, Duration::from_secs(600)))
            .unwrap();
        assert_eq!(
            loaded(&FileTokenStore::new(temp.path()), &at).as_deref(),
            Some(TOKEN)
        );
    }

    #[test]
    fn files_open_to_group_or_others_are_not_trusted() {
        let temp = temp_dir("file-mode");
        let at = endpoint("http://127.0.0.1:1/");
        let store = FileTokenStore::new(temp.path());
        store
            .save(&at, &stored(TOKEN, Duration::from_secs(600)))
            .unwrap();
        let path = store.path_for(&at).unwrap();
        for mode in [0o640, 0o604, 0o620, 0o602] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(
                loaded(&FileTokenStore::new(temp.path()), &at),
                None,
                "{mode:o}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(
            loaded(&FileTokenStore::new(temp.path()), &at).as_deref(),
            Some(TOKEN)
        );
    }

    #[test]
    fn directories_open_to_group_or_others_are_neither_read_nor_written() {
        let temp = temp_dir("dir-mode");
        let at = endpoint("http://127.0.0.1:1/");
        let store = FileTokenStore::new(temp.path());
        store
            .save(&at, &stored(TOKEN, Duration::from_secs(600)))
            .unwrap();
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(loaded(&FileTokenStore::new(temp.path()), &at), None);
        let error = FileTokenStore::new(temp.path())
            .save(&at, &stored("other", Duration::from_secs(600)))
            .unwrap_err();
        assert!(error.to_string().contains("0755"), "{error}");
        assert!(!error.to_string().contains(TOKEN), "{error}");
        // The file kept the old token.
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(
            loaded(&FileTokenStore::new(temp.path()), &at).as_deref(),
            Some(TOKEN)
        );
    }

    #[test]
    fn files_and_directories_of_another_user_are_not_trusted() {
        let temp = temp_dir("owner");
        let at = endpoint("http://127.0.0.1:1/");
        FileTokenStore::new(temp.path())
            .save(&at, &stored(TOKEN, Duration::from_secs(600)))
            .unwrap();
        // The same files, seen by a store that expects another owner.
        let stranger = FileTokenStore::owned_by(temp.path(), me().wrapping_add(1));
        assert_eq!(loaded(&stranger, &at), None);
        let error = stranger
            .save(&at, &stored("other", Duration::from_secs(600)))
            .unwrap_err();
        assert!(error.to_string().contains("owned by uid"), "{error}");
    }

    #[test]
    fn symlinks_are_not_followed() {
        let temp = temp_dir("symlink");
        let at = endpoint("http://127.0.0.1:1/");
        let store = FileTokenStore::new(temp.path());
        let path = store.path_for(&at).unwrap();
        let target = temp.path().join("target");
        fs::write(
            &target,
            format!(r#"{{"token": "{TOKEN}", "expires_at": 99999999999}}"#),
        )
        .unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert_eq!(loaded(&store, &at), None);
        // Saving replaces the link, not its target.
        store
            .save(&at, &stored("fresh", Duration::from_secs(600)))
            .unwrap();
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        assert!(fs::read_to_string(&target).unwrap().contains(TOKEN));
    }

    #[test]
    fn a_token_the_layer_already_had_is_not_loaded_again() {
        let temp = temp_dir("seen");
        let at = endpoint("http://127.0.0.1:1/");
        let store = FileTokenStore::new(temp.path());
        store
            .save(&at, &stored(TOKEN, Duration::from_secs(600)))
            .unwrap();
        // The layer got it from IMDS (saved it), then it was refused: the
        // same process must not get it back.
        assert_eq!(loaded(&store, &at), None);
        // Another process loads it once.
        let next = FileTokenStore::new(temp.path());
        assert_eq!(loaded(&next, &at).as_deref(), Some(TOKEN));
        assert_eq!(loaded(&next, &at), None);
    }

    #[test]
    fn relative_endpoints_are_not_cached() {
        let temp = temp_dir("relative");
        let store = FileTokenStore::new(temp.path());
        let relative = endpoint("/latest/meta-data/");
        assert_eq!(store.path_for(&relative), None);
        assert_eq!(loaded(&store, &relative), None);
        assert!(
            store
                .save(&relative, &stored(TOKEN, Duration::from_secs(600)))
                .is_err()
        );
    }

    #[test]
    fn debug_shows_no_token() {
        let temp = temp_dir("debug");
        let at = endpoint("http://127.0.0.1:1/");
        let store = FileTokenStore::new(temp.path());
        store
            .save(&at, &stored(TOKEN, Duration::from_secs(600)))
            .unwrap();
        assert!(!format!("{store:?}").contains(TOKEN));
    }
}
