//! Where environment variables come from.
//!
//! Every setting this crate reads from the environment goes through an
//! [`Env`]. By default it reads the real process environment; tests build one
//! from a map instead, so they never have to mutate the process environment
//! (which is shared by every test running in parallel).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A source of environment variables: the process environment, or a fixed
/// map.
///
/// The default reads the process environment. Cheap to clone. Its `Debug`
/// output lists variable names only, never their values, since a map built
/// from a real environment may hold secrets.
///
/// ```
/// use imds::{Client, Env, Error};
///
/// let env = Env::from_map([("AWS_EC2_METADATA_DISABLED", "true")]);
/// let client = Client::builder().env(env).build()?;
/// assert!(matches!(client.settings(), Err(Error::Disabled(_))));
/// # Ok::<(), imds::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Env {
    vars: Option<Arc<HashMap<String, OsString>>>,
}

impl Env {
    /// Reads the real process environment, at each lookup.
    pub fn process() -> Self {
        Self { vars: None }
    }

    /// A fixed environment holding exactly `vars`; every other variable is
    /// unset.
    pub fn from_map<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            vars: Some(Arc::new(vars)),
        }
    }

    /// The raw value of `name`, if it is set.
    pub(crate) fn get_os(&self, name: &str) -> Option<OsString> {
        match &self.vars {
            None => std::env::var_os(name),
            Some(vars) => vars.get(name).cloned(),
        }
    }

    /// The value of `name`, if it is set.
    ///
    /// A value that is not valid Unicode is converted lossily (invalid
    /// sequences become `U+FFFD`), so it fails validation visibly instead of
    /// being silently ignored.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.get_os(name)
            .map(|value| value.to_string_lossy().into_owned())
    }

    /// The user's home directory: `HOME`, or `USERPROFILE` when `HOME` is
    /// unset or empty (Windows). `None` when neither is set.
    pub(crate) fn home_dir(&self) -> Option<PathBuf> {
        ["HOME", "USERPROFILE"]
            .into_iter()
            .filter_map(|name| self.get_os(name))
            .find(|value| !value.is_empty())
            .map(PathBuf::from)
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.vars {
            None => f.write_str("Env::process()"),
            Some(vars) => {
                let mut names: Vec<&str> = vars.keys().map(String::as_str).collect();
                names.sort_unstable();
                f.debug_struct("Env").field("names", &names).finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_lookups() {
        let env = Env::from_map([("A", "1"), ("EMPTY", "")]);
        assert_eq!(env.get("A").as_deref(), Some("1"));
        assert_eq!(env.get("EMPTY").as_deref(), Some(""));
        assert_eq!(env.get("B"), None);
        assert_eq!(env.get_os("A"), Some(OsString::from("1")));
    }

    #[test]
    fn home_prefers_home_then_userprofile() {
        let env = Env::from_map([("HOME", "/h"), ("USERPROFILE", "C:\\u")]);
        assert_eq!(env.home_dir(), Some(PathBuf::from("/h")));
        let env = Env::from_map([("HOME", ""), ("USERPROFILE", "C:\\u")]);
        assert_eq!(env.home_dir(), Some(PathBuf::from("C:\\u")));
        let env = Env::from_map([("USERPROFILE", "C:\\u")]);
        assert_eq!(env.home_dir(), Some(PathBuf::from("C:\\u")));
        assert_eq!(Env::from_map::<_, String, String>([]).home_dir(), None);
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env = Env::from_map([("AWS_SECRET_ACCESS_KEY", "s3cr3t"), ("A", "x")]);
        let debug = format!("{env:?}");
        assert!(debug.contains("AWS_SECRET_ACCESS_KEY"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert_eq!(format!("{:?}", Env::process()), "Env::process()");
    }

    #[cfg(unix)]
    #[test]
    fn non_unicode_values_are_lossy() {
        use std::os::unix::ffi::OsStringExt;
        let env = Env::from_map([("X", OsString::from_vec(vec![b'a', 0xff]))]);
        assert_eq!(env.get("X").as_deref(), Some("a\u{fffd}"));
    }

    #[test]
    fn process_env_reads_something_real() {
        // PATH is set in any sane test environment; only read, never write.
        let process = Env::process();
        assert_eq!(process.get_os("PATH"), std::env::var_os("PATH"));
    }
}
