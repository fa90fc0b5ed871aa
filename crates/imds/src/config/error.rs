//! Why settings could not be resolved.

use super::Source;
use crate::profile::ProfileError;

/// A setting has an invalid value, or the config file could not be used.
///
/// The message names the setting, the offending value and where it came
/// from, e.g.
/// `invalid IMDS endpoint "not a uri" from environment variable AWS_EC2_METADATA_SERVICE_ENDPOINT: ...`.
/// No IMDS setting is a secret, so quoting the value is safe.
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
    /// The offending value, as given.
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
            value,
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
