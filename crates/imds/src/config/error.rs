//! Why settings could not be resolved.

use super::Source;
use crate::profile::ProfileError;

/// A setting has an invalid value, or the config file could not be used.
///
/// The message names the setting, the offending value and where it came
/// from, e.g.
/// `invalid IMDS endpoint "not a uri" from environment variable AWS_EC2_METADATA_SERVICE_ENDPOINT: ...`.
/// No IMDS setting is a secret, so quoting the value is safe; a password
/// in an endpoint URL (which is refused) is masked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting's value is invalid.
    #[error(transparent)]
    Invalid(Box<InvalidSetting>),
    /// The shared config file could not be read or parsed.
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// A setting with an invalid value: which, what, from where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting} {value:?} from {origin}: {reason}")]
#[non_exhaustive]
pub struct InvalidSetting {
    /// The setting, in words (`IMDS endpoint`, `IMDS timeout`, ...).
    pub setting: &'static str,
    /// The offending value, as given, but for a URL's user name and
    /// password, which show as `***`.
    pub value: String,
    /// Where the value came from.
    pub origin: Source,
    /// What is wrong with it and what is expected.
    pub reason: String,
}

impl ConfigError {
    /// An [`InvalidSetting`] error.
    pub(crate) fn invalid(
        setting: &'static str,
        value: String,
        origin: Source,
        reason: String,
    ) -> Self {
        Self::Invalid(Box::new(InvalidSetting {
            setting,
            value: without_userinfo(value),
            origin,
            reason,
        }))
    }

    /// Where the offending value came from; `None` for a config file error.
    pub fn origin(&self) -> Option<&Source> {
        match self {
            Self::Invalid(invalid) => Some(&invalid.origin),
            Self::Profile(_) => None,
        }
    }
}

/// `value` with the user-information part of a URL (`user:password@`)
/// replaced by `***`: an invalid value is quoted, and a password must not
/// be, whatever else is wrong with the URL.
fn without_userinfo(value: String) -> String {
    let Some(start) = value.find("://").map(|at| at + 3) else {
        return value;
    };
    let end = value[start..]
        .find(['/', '?', '#'])
        .map_or(value.len(), |at| start + at);
    match value[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &value[..start], &value[start + at..]),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urls_user_and_password_are_masked() {
        for (value, shown) in [
            ("http://u:s3cret@h:1", "http://***@h:1"),
            ("http://u:s3cret@[::1", "http://***@[::1"),
            ("http://a@b@h/x@y", "http://***@h/x@y"),
            ("http://h:1/", "http://h:1/"),
            ("not a url @ all", "not a url @ all"),
            ("5", "5"),
        ] {
            assert_eq!(without_userinfo(value.into()), shown, "{value}");
        }
        let error = ConfigError::invalid(
            "IMDS endpoint",
            "http://u:s3cret@h".into(),
            Source::Builder,
            "reason".into(),
        );
        assert!(
            !format!("{error} {error:?}").contains("s3cret"),
            "{error:?}"
        );
    }
}
