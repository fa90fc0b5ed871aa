//! The credentials cache across invocations (`imds credentials --cache`):
//! [`FileCredentialsStore`], a [`CredentialsStore`] of the client's
//! credentials provider that keeps the role's credentials in a file.
//!
//! Used as a `credential_process`, `imds credentials` runs once per AWS CLI
//! call, and many processes on one host each start one: without this store
//! every run fetches the credentials from IMDS. The provider owns the
//! rules (a stored set is used only outside the refresh window, 5 to 10
//! minutes before `Expiration`, and never once expired; what it fetches is
//! saved); the store keeps and hands back.
//!
//! # Rules
//!
//! - Off by default: the credentials are secrets, and this puts them on
//!   disk, where they stay until they expire (hours), are replaced, or the
//!   file is removed. Anyone who can read the user's files, or a backup or
//!   image of the disk, gets working credentials of the instance's role for
//!   that long. Turn it on where that is acceptable, as the AWS CLI's own
//!   `~/.aws/cli/cache` does for assumed roles.
//! - Where, and how files are named, written and trusted: a
//!   [`PrivateDir`], `$XDG_CACHE_HOME/imds/credentials/` (else
//!   `$HOME/.cache/imds/credentials/`); directories `0700`, files `0600`
//!   written atomically, and files or directories of another user, or open
//!   to group or others, neither read (a warning says why) nor written.
//! - One file per endpoint and configured role (`http://169.254.169.254`
//!   for a discovered role, `http://169.254.169.254#web` for the role
//!   `web`).
//! - Content: the document `imds credentials --format json` prints
//!   (`RoleName`, `AccountId`, `AccessKeyId`, `SecretAccessKey`, `Token`,
//!   `Expiration`, `LastUpdated`), read back with the parser of IMDS's own
//!   document, and `BootId`, the kernel's boot ID
//!   (`/proc/sys/kernel/random/boot_id`). A file that cannot be parsed is
//!   ignored and replaced.
//! - Bound to the boot: a file written during another boot is ignored. An
//!   image of the disk (an AMI baked with a full cache) otherwise hands the
//!   builder's role credentials to every instance launched from it until
//!   they expire. Where there is no boot ID to read, nothing is cached.
//! - A role attached in place of another on a running instance is seen at
//!   the next refresh (5 to 10 minutes before the cached set expires), as
//!   with the in-memory cache of a long-running process.

use std::fmt;
use std::path::PathBuf;

use imds::credentials::{CredentialsStore, StoreError};
use imds::{Client, Credentials, MetadataSource};
use serde::{Deserialize, Serialize};

use crate::output::CredentialsJson;
use crate::private_dir::PrivateDir;

/// What the store keeps, as its messages name it.
const WHAT: &str = "credentials";

/// A [`CredentialsStore`] keeping one file in a private directory. See the
/// [module docs](self) for the rules.
pub struct FileCredentialsStore {
    dir: PrivateDir,
    file: PathBuf,
    /// This boot's ID: a file of another boot is not loaded.
    boot: String,
}

impl fmt::Debug for FileCredentialsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCredentialsStore")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// The file's content: the credentials as `imds credentials` prints them,
/// and this boot's ID.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ToWrite<'a> {
    #[serde(flatten)]
    credentials: CredentialsJson<'a>,
    boot_id: &'a str,
}

/// The part of the file that [`Credentials::from_imds_json`] does not read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Written {
    role_name: String,
    boot_id: String,
}

/// Where the kernel tells the boot's ID (Linux).
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

impl FileCredentialsStore {
    /// The store for the credentials `endpoint` serves for `role` (`None`:
    /// the role is discovered) during the boot `boot`, in `dir`; `None`
    /// when the two are too long to name a file after.
    pub fn new(dir: PrivateDir, endpoint: &str, role: Option<&str>, boot: String) -> Option<Self> {
        let key = match role {
            Some(role) => format!("{endpoint}#{role}"),
            None => endpoint.to_owned(),
        };
        let file = dir.file(&key)?;
        Some(Self { dir, file, boot })
    }

    /// The store for what `client` reads, in the user's cache directory;
    /// `None`, with a warning, when there is none to be had: no
    /// `XDG_CACHE_HOME` or `HOME`, or no single endpoint (auto endpoint
    /// mode).
    pub fn for_client(client: &Client) -> Option<Self> {
        let unavailable = |why: &str| {
            tracing::warn!("not caching the credentials: {why}");
            None
        };
        let Some(dir) = PrivateDir::default_dir(|name| std::env::var_os(name), "credentials")
        else {
            return unavailable("neither XDG_CACHE_HOME nor HOME is an absolute path");
        };
        let Some(endpoint) = client.endpoint() else {
            return unavailable("the endpoint is not known before the first request (auto mode)");
        };
        let boot = match std::fs::read_to_string(BOOT_ID) {
            Ok(boot) if !boot.trim().is_empty() => boot.trim().to_owned(),
            _ => {
                return unavailable(
                    "no boot ID to bind the cache to (/proc/sys/kernel/random/boot_id)",
                );
            }
        };
        // The role the provider asks for, by the provider's own rule.
        let role = MetadataSource::role_name(client);
        let store = Self::new(PrivateDir::new(dir), endpoint, role, boot);
        if store.is_none() {
            return unavailable("the endpoint and role are too long to name a file after");
        }
        store
    }

    /// The file.
    pub fn path(&self) -> &std::path::Path {
        &self.file
    }
}

impl CredentialsStore for FileCredentialsStore {
    fn load(&self) -> Result<Option<Credentials>, StoreError> {
        let Some(text) = self.dir.load(&self.file, WHAT) else {
            return Ok(None);
        };
        let where_from = self.file.display().to_string();
        let Ok(written) = serde_json::from_str::<Written>(&text) else {
            tracing::debug!(file = %where_from, "the credentials cache file is corrupt; ignoring it");
            return Ok(None);
        };
        if written.boot_id != self.boot {
            tracing::debug!(file = %where_from, "the credentials cache file is of another boot; ignoring it");
            return Ok(None);
        }
        let parsed =
            Credentials::from_imds_json(&where_from, &written.role_name, text.as_bytes()).ok();
        if parsed.is_none() {
            tracing::debug!(file = %where_from, "the credentials cache file is corrupt; ignoring it");
        }
        Ok(parsed)
    }

    fn save(&self, credentials: &Credentials) -> Result<(), StoreError> {
        if credentials.role_name().is_none() {
            return Err("credentials without a role are not cached".into());
        }
        let content = serde_json::to_vec_pretty(&ToWrite {
            credentials: CredentialsJson::new(credentials),
            boot_id: &self.boot,
        })?;
        self.dir.save(&self.file, &content, WHAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn temp_dir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("imds-cli-credentials-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .unwrap()
    }

    fn fetched(role: &str) -> Credentials {
        let body = format!(
            r#"{{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "SecretAccessKey": "{SECRET}", "Token": "FwoGZXIvYXdz",
                "Expiration": "2100-01-01T00:00:00Z", "LastUpdated": "2099-12-31T18:00:00Z",
                "AccountId": "123456789012"}}"#
        );
        Credentials::from_imds_json(
            "/latest/meta-data/iam/security-credentials/web",
            role,
            body.as_bytes(),
        )
        .unwrap()
    }

    const BOOT: &str = "f9c210c3-a67f-441d-8c46-afe6c8c75d40";

    fn store(dir: &std::path::Path, role: Option<&str>) -> FileCredentialsStore {
        store_of_boot(dir, role, BOOT)
    }

    fn store_of_boot(
        dir: &std::path::Path,
        role: Option<&str>,
        boot: &str,
    ) -> FileCredentialsStore {
        FileCredentialsStore::new(
            PrivateDir::new(dir.join("credentials")),
            "http://127.0.0.1:1338",
            role,
            boot.to_owned(),
        )
        .unwrap()
    }

    // A disk image with a full cache: the instances launched from it boot
    // anew, and must not get the builder's credentials.
    #[test]
    fn a_file_of_another_boot_is_not_loaded() {
        let temp = temp_dir();
        store(temp.path(), None).save(&fetched("web")).unwrap();
        let written: serde_json::Value =
            serde_json::from_slice(&fs::read(store(temp.path(), None).path()).unwrap()).unwrap();
        assert_eq!(written["BootId"], BOOT);
        let next_boot = store_of_boot(temp.path(), None, "7d9c2b2e-0000-4000-8000-000000000001");
        assert_eq!(next_boot.load().unwrap(), None);
        assert!(store(temp.path(), None).load().unwrap().is_some());
    }

    #[test]
    fn saved_credentials_load_whole_in_the_next_process() {
        let temp = temp_dir();
        let credentials = fetched("web");
        store(temp.path(), None).save(&credentials).unwrap();
        let loaded = store(temp.path(), None).load().unwrap().unwrap();
        assert_eq!(loaded, credentials);
        assert_eq!(loaded.account_id(), Some("123456789012"));
        assert_eq!(
            loaded.last_updated(),
            Some(UNIX_EPOCH + Duration::from_secs(4_102_423_200))
        );

        let file = store(temp.path(), None).path().to_owned();
        // What `imds credentials --format json` prints, and the boot's ID.
        let written: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
        let mut expected: serde_json::Value =
            serde_json::from_str(&crate::output::credentials_json(&credentials)).unwrap();
        expected["BootId"] = BOOT.into();
        assert_eq!(written, expected);
        assert_eq!(
            file.file_name().unwrap(),
            "http_3A_2F_2F127.0.0.1_3A1338.json"
        );
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            fs::metadata(file.parent().unwrap()).unwrap().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn each_configured_role_has_its_own_file() {
        let temp = temp_dir();
        store(temp.path(), Some("web"))
            .save(&fetched("web"))
            .unwrap();
        assert_eq!(store(temp.path(), None).load().unwrap(), None);
        assert_eq!(store(temp.path(), Some("db")).load().unwrap(), None);
        assert!(store(temp.path(), Some("web")).load().unwrap().is_some());
        assert_eq!(
            store(temp.path(), Some("web")).path().file_name().unwrap(),
            "http_3A_2F_2F127.0.0.1_3A1338_23web.json"
        );
    }

    #[test]
    fn corrupt_or_untrusted_files_are_not_loaded() {
        let temp = temp_dir();
        let store = store(temp.path(), None);
        store.save(&fetched("web")).unwrap();
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(store.load().unwrap(), None);
        for junk in [
            "",
            "{",
            "[]",
            r#"{"RoleName": "web"}"#,
            r#"{"AccessKeyId": "A"}"#,
        ] {
            fs::write(store.path(), junk).unwrap();
            fs::set_permissions(store.path(), fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(store.load().unwrap(), None, "{junk:?}");
        }
        store.save(&fetched("web")).unwrap();
        assert!(store.load().unwrap().is_some());
    }

    #[test]
    fn an_open_directory_is_neither_read_nor_written() {
        let temp = temp_dir();
        let store = store(temp.path(), None);
        store.save(&fetched("web")).unwrap();
        let dir = store.path().parent().unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(store.load().unwrap(), None);
        let error = store.save(&fetched("web")).unwrap_err().to_string();
        assert!(error.contains("0755"), "{error}");
        assert!(!error.contains(SECRET), "{error}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let temp = temp_dir();
        let store = store(temp.path(), None);
        store.save(&fetched("web")).unwrap();
        assert!(!format!("{store:?}").contains(SECRET));
    }
}
