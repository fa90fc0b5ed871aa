//! Where a resolved value came from.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from, in the order they are consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Set explicitly in code, on the client builder.
    Builder,
    /// The named environment variable.
    Env(&'static str),
    /// A key of a profile in the shared config file.
    Profile {
        /// The config file.
        path: PathBuf,
        /// The profile's name.
        profile: String,
        /// The key, as documented (lower case).
        key: &'static str,
    },
    /// Nothing was configured: the built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builder => f.write_str("the client builder"),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::Profile { path, profile, key } => {
                write!(f, "profile {profile:?} in {} (key {key})", path.display())
            }
            Self::Default => f.write_str("the default"),
        }
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Setting<T> {
    pub(crate) fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        assert_eq!(Source::Builder.to_string(), "the client builder");
        assert_eq!(
            Source::Env("AWS_PROFILE").to_string(),
            "environment variable AWS_PROFILE"
        );
        assert_eq!(
            Source::Profile {
                path: "/home/u/.aws/config".into(),
                profile: "dev".into(),
                key: "ec2_metadata_service_endpoint",
            }
            .to_string(),
            "profile \"dev\" in /home/u/.aws/config (key ec2_metadata_service_endpoint)"
        );
        assert_eq!(Source::Default.to_string(), "the default");
    }
}
