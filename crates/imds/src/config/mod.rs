//! The IMDS settings, resolved the way the AWS SDKs do it.
//!
//! Each setting is taken from the first of: an explicit value in code (the
//! [`ClientBuilder`](crate::ClientBuilder)) > its environment variable > its
//! key in the selected profile of the shared config file > the default.
//! [`Client::settings`](crate::Client::settings) shows the outcome, each
//! value with its [`Source`].
//!
//! | setting | environment variable | profile key | default |
//! |---|---|---|---|
//! | endpoint | `AWS_EC2_METADATA_SERVICE_ENDPOINT` | `ec2_metadata_service_endpoint` | from the mode |
//! | endpoint mode | `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` | `ec2_metadata_service_endpoint_mode` | `IPv4` |
//! | disabled | `AWS_EC2_METADATA_DISABLED` | — | `false` |
//! | IMDSv1 disabled | `AWS_EC2_METADATA_V1_DISABLED` | `ec2_metadata_v1_disabled` | `false` |
//! | timeout (seconds) | `AWS_METADATA_SERVICE_TIMEOUT` | `metadata_service_timeout` | `1` |
//! | attempts | `AWS_METADATA_SERVICE_NUM_ATTEMPTS` | `metadata_service_num_attempts` | `4` |
//! | role name | `AWS_EC2_INSTANCE_PROFILE_NAME` | `ec2_instance_profile_name` | discovered |
//! | application ID | `AWS_SDK_UA_APP_ID` | `sdk_ua_app_id` | none |
//!
//! `AWS_PROFILE` selects the profile and `AWS_CONFIG_FILE` moves the file,
//! as in the SDKs.
//!
//! Values:
//! - An explicit endpoint wins over the mode. The mode picks
//!   `http://169.254.169.254` (`IPv4`) or `http://[fd00:ec2::254]` (`IPv6`);
//!   `auto` (our extension) keeps both, for the client to race. An endpoint
//!   is `http` or `https` with a host, an optional port, no path and no
//!   user name or password (which would show wherever the endpoint is
//!   named); a trailing `/` is dropped.
//! - Modes are `IPv4`, `IPv6` or `auto`; booleans `true` or `false`; both
//!   case-insensitive.
//! - The timeout is a positive number of seconds, whole or decimal (`0.5`);
//!   attempts a whole number, at least 1. The default of 4 attempts is
//!   aws-config's (botocore makes 1).
//! - The application ID tags every request's `User-Agent` as
//!   `imds/VERSION app/ID`, as the AWS SDKs tag theirs, so that an operator
//!   auditing IMDS traffic can tell applications apart. Letters, digits and
//!   ``!#$%&'*+-.^_`|~``; over 50 characters draws a warning, as in the SDKs.
//!   The one exception to the rule below: an invalid ID from the
//!   environment or the profile, which every AWS SDK reads too and none
//!   refuses, is left out with a warning (given in code, it is an error).
//! - A value is trimmed; an empty value counts as unset.
//!
//! Any other invalid value, even of a setting that ends up unused (an
//! invalid mode beside an explicit endpoint), is a [`ConfigError`] that
//! names the setting, the value and where it came from: a typo is reported,
//! never silently replaced by a default.
//!
//! When IMDS is disabled (`AWS_EC2_METADATA_DISABLED=true`, or
//! [`ClientBuilder::disabled`](crate::ClientBuilder::disabled)), that is the
//! one lookup made: no file is read and nothing else is validated.
//!
//! ```
//! use imds::config::{Endpoint, EndpointMode, Source};
//! use imds::{Client, Env};
//!
//! let env = Env::from_map([
//!     ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv6"),
//!     ("AWS_METADATA_SERVICE_TIMEOUT", "0.5"),
//! ]);
//! let client = Client::builder().env(env).attempts(2).build()?;
//! let settings = client.settings()?;
//! assert_eq!(settings.endpoint_mode.value, EndpointMode::Ipv6);
//! assert_eq!(
//!     settings.endpoint.value,
//!     Endpoint::Single("http://[fd00:ec2::254]".parse()?),
//! );
//! assert_eq!(
//!     settings.endpoint.source,
//!     Source::Env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
//! );
//! assert_eq!(settings.timeout.value, std::time::Duration::from_millis(500));
//! assert_eq!(settings.attempts.value, 2);
//! assert_eq!(settings.attempts.source, Source::Builder);
//!
//! let env = Env::from_map([("AWS_EC2_METADATA_SERVICE_ENDPOINT", "not a uri")]);
//! let error = Client::builder().env(env).build().unwrap_err();
//! assert!(error.to_string().starts_with(
//!     "invalid IMDS endpoint \"not a uri\" from environment variable \
//!      AWS_EC2_METADATA_SERVICE_ENDPOINT: "
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod endpoint;
mod error;
mod source;
pub(crate) mod value;

use std::fmt;
use std::time::Duration;

use http::Uri;

pub use self::endpoint::{
    DEFAULT_IPV4_ENDPOINT, DEFAULT_IPV6_ENDPOINT, Endpoint, EndpointMode, ParseEndpointModeError,
};
pub use self::error::{ConfigError, InvalidSetting};
pub use self::source::{Setting, Source};
use self::value::{
    APP_ID_RECOMMENDED_MAX, check_app_id, check_attempts, check_role_name, check_timeout,
    parse_attempts, parse_bool, parse_timeout,
};
use crate::env::Env;
use crate::profile::{self, Profile};

/// The timeout used when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// The number of attempts used when none is configured (aws-config's).
pub const DEFAULT_ATTEMPTS: u32 = 4;

/// Values set explicitly in code. They win over the environment and the
/// config file. Every field is optional; `None` means "not set in code".
///
/// The client builder holds one and fills it from its methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Overrides {
    /// The endpoint, e.g. `http://127.0.0.1:1338`; validated by [`resolve`].
    pub(crate) endpoint: Option<String>,
    /// The endpoint mode.
    pub(crate) endpoint_mode: Option<EndpointMode>,
    /// Replaces the IPv4 address (`http://169.254.169.254`) of the IPv4 and
    /// auto modes, e.g. with `http://127.0.0.1:PORT` in tests.
    pub(crate) ipv4_endpoint: Option<String>,
    /// Replaces the IPv6 address (`http://[fd00:ec2::254]`) of the IPv6 and
    /// auto modes, e.g. with `http://[::1]:PORT` in tests.
    pub(crate) ipv6_endpoint: Option<String>,
    /// Disables IMDS (or, with `Some(false)`, enables it whatever
    /// `AWS_EC2_METADATA_DISABLED` says).
    pub(crate) disabled: Option<bool>,
    /// Forbids falling back to IMDSv1.
    pub(crate) v1_disabled: Option<bool>,
    /// The timeout; must be longer than zero.
    pub(crate) timeout: Option<Duration>,
    /// The number of attempts; at least 1.
    pub(crate) attempts: Option<u32>,
    /// The IAM role whose credentials to fetch, instead of discovering it.
    pub(crate) role_name: Option<String>,
    /// The profile to read from the config file, instead of `AWS_PROFILE`.
    pub(crate) profile: Option<String>,
    /// The application ID that tags the `User-Agent`.
    pub(crate) app_id: Option<String>,
}

/// The outcome of [`resolve`].
// Built once per client: the size of `Settings` costs nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// IMDS is disabled; nothing else was read or checked.
    Disabled(Source),
    /// IMDS is enabled, with these settings.
    Enabled(Settings),
}

/// Every IMDS setting, resolved, each with its [`Source`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// Where requests go. Its source is where the explicit endpoint came
    /// from, or where the mode came from when the endpoint follows the mode.
    pub endpoint: Setting<Endpoint>,
    /// The configured mode. When an explicit endpoint is set, the mode is
    /// resolved and validated but does not apply.
    pub endpoint_mode: Setting<EndpointMode>,
    /// Whether falling back to IMDSv1 is forbidden.
    pub v1_disabled: Setting<bool>,
    /// The timeout.
    pub timeout: Setting<Duration>,
    /// The number of attempts.
    pub attempts: Setting<u32>,
    /// The IAM role name, when configured; `None` means "discover it".
    pub role_name: Option<Setting<String>>,
    /// The application ID, when configured: requests then carry
    /// `User-Agent: imds/VERSION app/ID`.
    pub app_id: Option<Setting<String>>,
    follows_mode: bool,
}

impl Settings {
    /// Whether the endpoint follows the mode, i.e. no explicit endpoint is
    /// set.
    pub fn endpoint_follows_mode(&self) -> bool {
        self.follows_mode
    }
}

/// One line, each setting with where it came from (what `imds -v` logs):
/// `endpoint http://169.254.169.254 (the default); endpoint mode IPv4 (the
/// default); ...`.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = match &self.endpoint.value {
            Endpoint::Single(uri) => uri.to_string(),
            Endpoint::Race { ipv4, ipv6 } => format!("{ipv4} or {ipv6}, raced"),
        };
        write!(
            f,
            "endpoint {} ({}); endpoint mode {} ({}); IMDSv1 disabled {} ({}); \
             timeout {:?} ({}); attempts {} ({}); ",
            endpoint.trim_end_matches('/'),
            self.endpoint.source,
            self.endpoint_mode.value,
            self.endpoint_mode.source,
            self.v1_disabled.value,
            self.v1_disabled.source,
            self.timeout.value,
            self.timeout.source,
            self.attempts.value,
            self.attempts.source,
        )?;
        match &self.role_name {
            Some(role) => write!(f, "role {} ({})", role.value, role.source)?,
            None => f.write_str("role discovered")?,
        }
        match &self.app_id {
            Some(app_id) => write!(f, "; app ID {} ({})", app_id.value, app_id.source),
            None => Ok(()),
        }
    }
}

/// A setting's names, in messages, in the environment and in the profile.
struct Spec {
    name: &'static str,
    env: &'static str,
    key: Option<&'static str>,
}

const ENDPOINT: Spec = Spec {
    name: "IMDS endpoint",
    env: "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    key: Some("ec2_metadata_service_endpoint"),
};
const ENDPOINT_MODE: Spec = Spec {
    name: "IMDS endpoint mode",
    env: "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    key: Some("ec2_metadata_service_endpoint_mode"),
};
const DISABLED: Spec = Spec {
    name: "IMDS disabled flag",
    env: "AWS_EC2_METADATA_DISABLED",
    key: None,
};
const V1_DISABLED: Spec = Spec {
    name: "IMDSv1 disabled flag",
    env: "AWS_EC2_METADATA_V1_DISABLED",
    key: Some("ec2_metadata_v1_disabled"),
};
const TIMEOUT: Spec = Spec {
    name: "IMDS timeout",
    env: "AWS_METADATA_SERVICE_TIMEOUT",
    key: Some("metadata_service_timeout"),
};
const ATTEMPTS: Spec = Spec {
    name: "IMDS attempts",
    env: "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    key: Some("metadata_service_num_attempts"),
};
const ROLE_NAME: Spec = Spec {
    name: "EC2 instance profile role name",
    env: "AWS_EC2_INSTANCE_PROFILE_NAME",
    key: Some("ec2_instance_profile_name"),
};
const APP_ID: Spec = Spec {
    name: "application ID",
    env: "AWS_SDK_UA_APP_ID",
    key: Some("sdk_ua_app_id"),
};
const IPV4_ENDPOINT: &str = "IMDS IPv4 endpoint";
const IPV6_ENDPOINT: &str = "IMDS IPv6 endpoint";

/// Resolves every setting from `overrides`, the environment `env` and the
/// shared config file that `env` points to.
///
/// Reads the config file (blocking I/O, once) unless IMDS is disabled.
pub(crate) fn resolve(overrides: &Overrides, env: &Env) -> Result<Resolved, ConfigError> {
    let layers = Layers { env, profile: None };
    let disabled = match overrides.disabled {
        Some(disabled) => Setting::new(disabled, Source::Builder),
        None => layers
            .lookup(&DISABLED, parse_bool)?
            .unwrap_or(Setting::new(false, Source::Default)),
    };
    if disabled.value {
        return Ok(Resolved::Disabled(disabled.source));
    }

    let profile = profile::load(env, overrides.profile.as_deref())?;
    let layers = Layers {
        env,
        profile: profile.as_ref(),
    };

    let endpoint_mode = match overrides.endpoint_mode {
        Some(mode) => Setting::new(mode, Source::Builder),
        None => layers
            .lookup(&ENDPOINT_MODE, |text| {
                text.parse::<EndpointMode>().map_err(|e| e.to_string())
            })?
            .unwrap_or(Setting::new(EndpointMode::default(), Source::Default)),
    };
    let ipv4 = builder_endpoint(IPV4_ENDPOINT, overrides.ipv4_endpoint.as_deref())?
        .unwrap_or_else(|| Uri::from_static(DEFAULT_IPV4_ENDPOINT));
    let ipv6 = builder_endpoint(IPV6_ENDPOINT, overrides.ipv6_endpoint.as_deref())?
        .unwrap_or_else(|| Uri::from_static(DEFAULT_IPV6_ENDPOINT));
    let explicit = match builder_endpoint(ENDPOINT.name, overrides.endpoint.as_deref())? {
        Some(uri) => Some(Setting::new(uri, Source::Builder)),
        None => layers.lookup(&ENDPOINT, endpoint::parse_endpoint)?,
    };
    let follows_mode = explicit.is_none();
    let endpoint = match explicit {
        Some(Setting { value, source }) => Setting::new(Endpoint::Single(value), source),
        None => {
            let endpoint = match endpoint_mode.value {
                EndpointMode::Ipv4 => Endpoint::Single(ipv4),
                EndpointMode::Ipv6 => Endpoint::Single(ipv6),
                EndpointMode::Auto => Endpoint::Race { ipv4, ipv6 },
            };
            Setting::new(endpoint, endpoint_mode.source.clone())
        }
    };

    let v1_disabled = match overrides.v1_disabled {
        Some(value) => Setting::new(value, Source::Builder),
        None => layers
            .lookup(&V1_DISABLED, parse_bool)?
            .unwrap_or(Setting::new(false, Source::Default)),
    };
    let timeout = match overrides.timeout {
        Some(timeout) => {
            check_timeout(timeout)
                .map_err(|reason| invalid_builder(TIMEOUT.name, format!("{timeout:?}"), reason))?;
            Setting::new(timeout, Source::Builder)
        }
        None => layers
            .lookup(&TIMEOUT, parse_timeout)?
            .unwrap_or(Setting::new(DEFAULT_TIMEOUT, Source::Default)),
    };
    let attempts = match overrides.attempts {
        Some(attempts) => {
            check_attempts(attempts)
                .map_err(|reason| invalid_builder(ATTEMPTS.name, attempts.to_string(), reason))?;
            Setting::new(attempts, Source::Builder)
        }
        None => layers
            .lookup(&ATTEMPTS, parse_attempts)?
            .unwrap_or(Setting::new(DEFAULT_ATTEMPTS, Source::Default)),
    };
    let role_name = match &overrides.role_name {
        Some(name) => {
            check_role_name(name)
                .map_err(|reason| invalid_builder(ROLE_NAME.name, name.clone(), reason))?;
            Some(Setting::new(name.clone(), Source::Builder))
        }
        None => layers.lookup(&ROLE_NAME, |name| {
            check_role_name(name).map(|()| name.to_owned())
        })?,
    };

    let app_id = match &overrides.app_id {
        Some(id) => {
            check_app_id(id).map_err(|reason| invalid_builder(APP_ID.name, id.clone(), reason))?;
            Some(Setting::new(id.clone(), Source::Builder))
        }
        // The SDKs read these too and take what they cannot use with a
        // warning (aws-config) or mend it (the JS SDK): a tag never stops
        // IMDS reads.
        None => layers
            .lookup(&APP_ID, |id| Ok(id.to_owned()))?
            .and_then(|id| match check_app_id(&id.value) {
                Ok(()) => Some(id),
                Err(reason) => {
                    tracing::warn!(
                        source = %id.source,
                        "the application ID {:?} is not used: {reason}",
                        id.value
                    );
                    None
                }
            }),
    };
    if let Some(app_id) = app_id
        .as_ref()
        .filter(|id| id.value.len() > APP_ID_RECOMMENDED_MAX)
    {
        tracing::warn!(
            source = %app_id.source,
            "the application ID is longer than the {APP_ID_RECOMMENDED_MAX} characters the AWS SDKs recommend"
        );
    }

    Ok(Resolved::Enabled(Settings {
        endpoint,
        endpoint_mode,
        v1_disabled,
        timeout,
        attempts,
        role_name,
        app_id,
        follows_mode,
    }))
}

/// The environment and, once loaded, the selected profile.
struct Layers<'a> {
    env: &'a Env,
    profile: Option<&'a Profile>,
}

impl Layers<'_> {
    /// The setting's value from the environment, else from the profile,
    /// parsed; `None` when neither sets it (empty values count as unset).
    fn lookup<T>(
        &self,
        spec: &Spec,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<Setting<T>>, ConfigError> {
        let from_env = self
            .env
            .get(spec.env)
            .map(|value| (value, Source::Env(spec.env)));
        let from_profile = || {
            let key = spec.key?;
            let profile = self.profile?;
            let value = profile.get(key)?;
            let source = Source::Profile {
                path: profile.path().to_owned(),
                profile: profile.name().to_owned(),
                key,
            };
            Some((value.to_owned(), source))
        };
        let found = from_env
            .filter(|(value, _)| !value.trim().is_empty())
            .or_else(|| from_profile().filter(|(value, _)| !value.trim().is_empty()));
        let Some((raw, source)) = found else {
            return Ok(None);
        };
        match parse(raw.trim()) {
            Ok(value) => Ok(Some(Setting::new(value, source))),
            Err(reason) => Err(ConfigError::invalid(spec.name, raw, source, reason)),
        }
    }
}

/// Validates an endpoint given in code.
fn builder_endpoint(setting: &'static str, text: Option<&str>) -> Result<Option<Uri>, ConfigError> {
    text.map(|text| {
        endpoint::parse_endpoint(text.trim())
            .map_err(|reason| invalid_builder(setting, text.to_owned(), reason))
    })
    .transpose()
}

/// The error for an invalid value given in code.
fn invalid_builder(setting: &'static str, value: String, reason: String) -> ConfigError {
    ConfigError::invalid(setting, value, Source::Builder, reason)
}

#[cfg(test)]
mod tests;
