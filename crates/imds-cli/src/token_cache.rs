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
//! - Where, and how files are named, written and trusted: a
//!   [`PrivateDir`], `$XDG_CACHE_HOME/imds/tokens/` (else
//!   `$HOME/.cache/imds/tokens/`), one file per endpoint, named after it
//!   (`http://169.254.169.254` is `http_3A_2F_2F169.254.169.254.json`);
//!   directories `0700`, files `0600` written atomically, and files or
//!   directories of another user, or open to group or others, neither read
//!   (a warning says why) nor written.
//! - Content: `{"token": "...", "expires_at": UNIX_SECONDS}`.
//! - A token is treated as expired 30 s before `expires_at`: a shell script
//!   gets a token with time left to use it.
//! - A file that cannot be parsed is ignored, and replaced by the next save.
//! - A token the layer already had in this process (loaded or saved) is not
//!   loaded again: the layer only asks again once its copy was refused (a
//!   401, after which the file still holds that token) or is due for
//!   refresh, and either way it needs a new one.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imds::{MetadataToken, StoredToken, TokenEndpoint, TokenStore, clock};
use serde::{Deserialize, Serialize};

use crate::private_dir::{BoxError, PrivateDir};

/// What the store keeps, as its messages name it.
const WHAT: &str = "IMDS tokens";

/// A stored token this close to its expiry is not loaded.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// A [`TokenStore`] keeping one file per endpoint in a private directory.
/// See the [module docs](self) for the rules.
pub struct FileTokenStore {
    dir: PrivateDir,
    /// Tokens the layer already had in this process.
    seen: Mutex<HashSet<String>>,
}

impl fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTokenStore")
            .field("dir", &self.dir)
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
        Self::in_dir(PrivateDir::new(dir))
    }

    /// A store in `dir`.
    fn in_dir(dir: PrivateDir) -> Self {
        Self {
            dir,
            seen: Mutex::default(),
        }
    }

    /// The user's token cache directory, from `XDG_CACHE_HOME` or `HOME`
    /// as looked up by `var`; `None` when neither gives an absolute path.
    pub fn default_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
        PrivateDir::default_dir(var, "tokens")
    }

    /// The file for `endpoint`; `None` for an endpoint without scheme and
    /// host, or one too long to name a file after.
    pub fn path_for(&self, endpoint: &TokenEndpoint) -> Option<PathBuf> {
        endpoint.authority()?;
        self.dir.file(&endpoint.to_string())
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

    /// The token in `path`, if the directory and the file are trusted, it
    /// parses and has not (nearly) expired.
    fn read(&self, path: &Path, now: SystemTime) -> Option<StoredToken> {
        let text = self.dir.load(path, WHAT)?;
        let parsed = serde_json::from_str::<TokenFile>(&text)
            .ok()
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
}

impl TokenStore for FileTokenStore {
    fn load(&self, endpoint: &TokenEndpoint) -> Result<Option<StoredToken>, BoxError> {
        let Some(path) = self.path_for(endpoint) else {
            return Ok(None);
        };
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
        let expires_at = stored
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let content = serde_json::to_vec(&TokenFile {
            token: stored.token.expose_secret().to_owned(),
            expires_at,
        })?;
        self.dir.save(&path, &content, WHAT)?;
        tracing::debug!(file = %path.display(), "IMDS token saved to the cache");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

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
        let stranger =
            FileTokenStore::in_dir(PrivateDir::owned_by(temp.path(), me().wrapping_add(1)));
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
