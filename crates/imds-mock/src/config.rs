//! What the mock instance looks like: one serde struct, built from Rust with
//! [`ConfigBuilder`] or loaded from a JSON file ([`Config::from_file`], the
//! binary's `--config FILE`).
//!
//! # JSON
//!
//! Every field is optional; a missing field keeps its default and an unknown
//! field is an error, so a typo cannot silently fall back to a default.
//!
//! ```json
//! {
//!   "imdsv1_allowed": false,
//!   "disabled": false,
//!   "max_token_ttl_secs": 300,
//!   "tags_enabled": true,
//!   "tags": { "Name": "web-1", "Team": "infra" },
//!   "user_data": { "base64": "H4sIAAAAAAAA//8=" },
//!   "role_name": "web-role",
//!   "credential_lifetime_secs": 21600,
//!   "public_keys": [ { "name": "my-key", "openssh_key": "ssh-ed25519 AAAA... my-key" } ],
//!   "account_id": "210987654321",
//!   "pending_time": "2026-03-01T12:00:00Z",
//!   "metadata": { "meta-data/instance-type": "m7g.large",
//!                 "meta-data/spot/instance-action": "{\"action\": \"terminate\", \"time\": \"2026-11-22T19:30:00Z\"}" },
//!   "remove": [ "meta-data/public-ipv4" ],
//!   "events": { "spot": { "action": "terminate", "delay_secs": 30 } }
//! }
//! ```
//!
//! - `user_data` is `{"text": "..."}` (UTF-8 as written), `{"base64": "..."}`
//!   (standard alphabet, padding optional; for binary data), or `null` for an
//!   instance without user data (`/latest/user-data` is then a 404).
//! - `role_name: null` is an instance without an instance profile (no `iam/`).
//! - `account_id` and `pending_time` are the identity document's
//!   `accountId` (also the network interface's `owner-id` and the instance
//!   profile's account) and `pendingTime`; `null` or absent: the
//!   [defaults](crate::defaults).
//! - `metadata` keys are paths under `/latest/` (a leading `/latest/` is
//!   accepted); a value replaces or adds a leaf. `remove` deletes a leaf or a
//!   whole directory. Removals apply after additions.
//! - `events` sets the Spot, rebalance, scheduled maintenance and Auto
//!   Scaling scenarios: see [`Events`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::events::{AutoScaling, Events, RebalanceRecommendation, ScheduledEvent, SpotNotice};
use crate::path::{is_segment, normalize};
use crate::token::MAX_TTL_SECS;

/// The mock instance and its IMDS settings. Defaults describe a plausible
/// `t3.micro` in `us-east-1a` with a role, binary user data and tags off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Serve reads that carry no token (`HttpTokens=optional`). A present but
    /// invalid token is a 401 either way. Default `false`: IMDSv2 required.
    pub imdsv1_allowed: bool,
    /// IMDS turned off: 403 on every request, the token PUT included.
    pub disabled: bool,
    /// Cap on granted token TTLs: a PUT asking for more gets this many
    /// seconds, echoed in the TTL response header. 1..=21600; `None`: no cap.
    pub max_token_ttl_secs: Option<u64>,
    /// Instance tags in metadata (`meta-data/tags/instance/`); 404 when off.
    pub tags_enabled: bool,
    /// The instance's tags (served only when `tags_enabled`).
    pub tags: BTreeMap<String, String>,
    /// `/latest/user-data`; `None`: 404.
    pub user_data: Option<UserData>,
    /// The instance profile's role; `None`: no `meta-data/iam/` at all.
    pub role_name: Option<String>,
    /// How long each set of role credentials is valid, in seconds.
    pub credential_lifetime_secs: u64,
    /// `meta-data/public-keys/`: listed as `0=name`, key at `0/openssh-key`.
    pub public_keys: Vec<PublicKey>,
    /// The account: the identity document's `accountId`, the network
    /// interface's `owner-id` and the instance profile ARN's. Twelve
    /// digits; `None`: [`defaults::ACCOUNT_ID`](crate::defaults::ACCOUNT_ID).
    pub account_id: Option<String>,
    /// The identity document's `pendingTime` (RFC 3339, when the instance
    /// was launched); `None`: [`defaults::PENDING_TIME`](crate::defaults::PENDING_TIME).
    pub pending_time: Option<String>,
    /// Leaves to add or replace: path under `/latest/` -> text.
    pub metadata: BTreeMap<String, String>,
    /// Paths under `/latest/` to delete (a leaf or a whole directory).
    pub remove: Vec<String>,
    /// Spot notice, rebalance recommendation, scheduled events, Auto
    /// Scaling state, and when they appear. None by default.
    pub events: Events,
    /// EC2's `HttpPutResponseHopLimit`, 1..=64: answers to token PUTs leave
    /// with this IP TTL / IPv6 hop limit, so they die after that many
    /// routers (a container's bridge is one); other answers leave with the
    /// system default. `None` (the default): every answer has the system
    /// default. Applied per connection while the PUT is answered; see the
    /// crate README.
    pub put_response_hop_limit: Option<u8>,
}

/// The largest `put_response_hop_limit` EC2 accepts.
pub const MAX_PUT_RESPONSE_HOP_LIMIT: u8 = 64;

/// The default `user_data`: a few bytes that are not UTF-8 (`0xff 0xfe 0x00`
/// among them), so clients that assume text are caught.
pub const DEFAULT_USER_DATA: &[u8] = b"\x1f\x8b\xff\xfe\x00#!/bin/sh\necho mock\n";

/// Default lifetime of one set of role credentials: 6 hours.
pub const DEFAULT_CREDENTIAL_LIFETIME_SECS: u64 = 6 * 3600;

impl Default for Config {
    fn default() -> Self {
        Self {
            imdsv1_allowed: false,
            disabled: false,
            max_token_ttl_secs: None,
            tags_enabled: false,
            tags: BTreeMap::from([
                ("Name".to_owned(), "imds-mock".to_owned()),
                ("Environment".to_owned(), "test".to_owned()),
            ]),
            user_data: Some(UserData::new(DEFAULT_USER_DATA)),
            role_name: Some("imds-mock-role".to_owned()),
            credential_lifetime_secs: DEFAULT_CREDENTIAL_LIFETIME_SECS,
            public_keys: vec![PublicKey {
                name: "my-key".to_owned(),
                openssh_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockMockMockMockMockMockMockMockMockMockMock my-key".to_owned(),
            }],
            account_id: None,
            pending_time: None,
            metadata: BTreeMap::new(),
            remove: Vec::new(),
            events: Events::default(),
            put_response_hop_limit: None,
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Parses and validates a JSON config.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(text).map_err(ConfigError::Json)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a JSON config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text).map_err(|error| match error {
            ConfigError::Json(source) => ConfigError::Parse {
                path: path.to_owned(),
                source,
            },
            other => other,
        })
    }

    /// Checks what serde cannot: ranges, path syntax, tag keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if let Some(cap) = self.max_token_ttl_secs
            && !(1..=MAX_TTL_SECS).contains(&cap)
        {
            return invalid(format!(
                "max_token_ttl_secs must be 1..={MAX_TTL_SECS}, got {cap}"
            ));
        }
        if let Some(limit) = self.put_response_hop_limit
            && !(1..=MAX_PUT_RESPONSE_HOP_LIMIT).contains(&limit)
        {
            return invalid(format!(
                "put_response_hop_limit must be 1..={MAX_PUT_RESPONSE_HOP_LIMIT}, got {limit}"
            ));
        }
        if self.credential_lifetime_secs < 4 {
            return invalid("credential_lifetime_secs must be at least 4".to_owned());
        }
        if let Some(role) = &self.role_name
            && !is_segment(role)
        {
            return invalid(format!("role_name {role:?} is not a single path segment"));
        }
        for key in self.tags.keys() {
            if !is_tag_key(key) {
                return invalid(format!(
                    "tag key {key:?}: IMDS only serves keys of [A-Za-z0-9+-=._:@]"
                ));
            }
        }
        for key in &self.public_keys {
            if key.name.is_empty() || key.name.contains(['\n', '/']) {
                return invalid(format!("public key name {:?} is not valid", key.name));
            }
        }
        if let Some(account) = &self.account_id
            && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        {
            return invalid(format!("account_id {account:?} is not 12 digits"));
        }
        if let Some(time) = &self.pending_time
            && humantime::parse_rfc3339(time).is_err()
        {
            return invalid(format!(
                "pending_time {time:?} is not an RFC 3339 time like 2026-01-05T08:30:00Z"
            ));
        }
        for path in self.metadata.keys().chain(&self.remove) {
            if normalize(path).is_none() {
                return invalid(format!("{path:?} is not a path under /latest/"));
            }
        }
        self.events.validate().map_err(ConfigError::Invalid)
    }
}

fn is_tag_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-=._:@".contains(&b))
}

/// An OpenSSH public key installed on the instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKey {
    /// The key pair's name, listed as `0=name`.
    pub name: String,
    /// The `openssh-key` leaf.
    pub openssh_key: String,
}

/// User data: arbitrary bytes. `Debug` shows only the length (user data
/// often carries secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct UserData(Vec<u8>);

impl UserData {
    /// User data of these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes served at `/latest/user-data`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for UserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserData({} bytes)", self.0.len())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum UserDataJson {
    Text(String),
    Base64(String),
}

impl Serialize for UserData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        UserDataJson::Base64(general_purpose::STANDARD.encode(&self.0)).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for UserData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match UserDataJson::deserialize(deserializer)? {
            UserDataJson::Text(text) => Ok(Self(text.into_bytes())),
            UserDataJson::Base64(text) => decode_base64(&text).map(Self).ok_or_else(|| {
                serde::de::Error::custom(
                    "user_data.base64: not valid base64 (standard alphabet, padding optional)",
                )
            }),
        }
    }
}

/// `user_data.base64`, as lenient as people who paste base64 need: the
/// standard alphabet, padding optional but complete when present, ASCII
/// whitespace ignored (the line breaks of wrapped base64), and bits left
/// over after the last byte ignored.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const fn engine(padding: DecodePaddingMode) -> GeneralPurpose {
        let config = GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(padding);
        GeneralPurpose::new(&STANDARD, config)
    }
    const PADDED: GeneralPurpose = engine(DecodePaddingMode::RequireCanonical);
    const UNPADDED: GeneralPurpose = engine(DecodePaddingMode::RequireNone);
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let engine = if digits.ends_with(b"=") {
        &PADDED
    } else {
        &UNPADDED
    };
    engine.decode(digits).ok()
}

/// A config that could not be loaded. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid config (bad JSON, unknown field, wrong type).
    #[error("invalid config file {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why, from serde_json.
        source: serde_json::Error,
    },
    /// The text is not a valid config (bad JSON, unknown field, wrong type).
    #[error("invalid config: {0}")]
    Json(#[source] serde_json::Error),
    /// Well-formed, but a value is out of range or malformed.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// Builds a [`Config`] from the defaults; each method takes and returns
/// `self`, so a configuration reads as one chain.
///
/// ```
/// let config = imds_mock::Config::builder()
///     .imdsv1_allowed(true)
///     .max_token_ttl_secs(60)
///     .tags_enabled(true)
///     .metadata("meta-data/instance-type", "m7g.large")
///     .build();
/// assert!(config.imdsv1_allowed);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// See [`Config::imdsv1_allowed`].
    pub fn imdsv1_allowed(mut self, allowed: bool) -> Self {
        self.config.imdsv1_allowed = allowed;
        self
    }

    /// See [`Config::disabled`].
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.config.disabled = disabled;
        self
    }

    /// See [`Config::max_token_ttl_secs`].
    pub fn max_token_ttl_secs(mut self, cap: u64) -> Self {
        self.config.max_token_ttl_secs = Some(cap);
        self
    }

    /// See [`Config::tags_enabled`].
    pub fn tags_enabled(mut self, enabled: bool) -> Self {
        self.config.tags_enabled = enabled;
        self
    }

    /// Replaces all tags (still served only when tags are enabled).
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.config.tags = tags
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets user data to these bytes.
    pub fn user_data(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.config.user_data = Some(UserData::new(bytes));
        self
    }

    /// An instance launched without user data: `/latest/user-data` is a 404.
    pub fn no_user_data(mut self) -> Self {
        self.config.user_data = None;
        self
    }

    /// See [`Config::role_name`].
    pub fn role_name(mut self, role: impl Into<String>) -> Self {
        self.config.role_name = Some(role.into());
        self
    }

    /// An instance without an instance profile: no `meta-data/iam/`.
    pub fn no_role(mut self) -> Self {
        self.config.role_name = None;
        self
    }

    /// See [`Config::credential_lifetime_secs`].
    pub fn credential_lifetime_secs(mut self, secs: u64) -> Self {
        self.config.credential_lifetime_secs = secs;
        self
    }

    /// Replaces the public keys with these `(name, openssh_key)` pairs.
    pub fn public_keys<N: Into<String>, K: Into<String>>(
        mut self,
        keys: impl IntoIterator<Item = (N, K)>,
    ) -> Self {
        self.config.public_keys = keys
            .into_iter()
            .map(|(name, key)| PublicKey {
                name: name.into(),
                openssh_key: key.into(),
            })
            .collect();
        self
    }

    /// See [`Config::account_id`]. The identity document's signatures
    /// follow it.
    pub fn account_id(mut self, account: impl Into<String>) -> Self {
        self.config.account_id = Some(account.into());
        self
    }

    /// See [`Config::pending_time`] (RFC 3339). The identity document's
    /// signatures follow it.
    pub fn pending_time(mut self, time: impl Into<String>) -> Self {
        self.config.pending_time = Some(time.into());
        self
    }

    /// Adds or replaces the leaf at `path` (under `/latest/`).
    pub fn metadata(mut self, path: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.metadata.insert(path.into(), value.into());
        self
    }

    /// Removes the leaf or directory at `path` (under `/latest/`).
    pub fn remove(mut self, path: impl Into<String>) -> Self {
        self.config.remove.push(path.into());
        self
    }

    /// Replaces all event scenarios.
    pub fn events(mut self, events: Events) -> Self {
        self.config.events = events;
        self
    }

    /// A Spot interruption notice (see [`SpotNotice`]).
    pub fn spot_notice(mut self, notice: SpotNotice) -> Self {
        self.config.events.spot = Some(notice);
        self
    }

    /// A rebalance recommendation (see [`RebalanceRecommendation`]).
    pub fn rebalance_recommendation(mut self, recommendation: RebalanceRecommendation) -> Self {
        self.config.events.rebalance = Some(recommendation);
        self
    }

    /// Adds a scheduled maintenance event (see [`ScheduledEvent`]).
    pub fn scheduled_event(mut self, event: ScheduledEvent) -> Self {
        self.config.events.scheduled.push(event);
        self
    }

    /// An Auto Scaling target lifecycle state (see [`AutoScaling`]).
    pub fn autoscaling(mut self, autoscaling: AutoScaling) -> Self {
        self.config.events.autoscaling = Some(autoscaling);
        self
    }

    /// See [`Config::put_response_hop_limit`].
    pub fn put_response_hop_limit(mut self, limit: u8) -> Self {
        self.config.put_response_hop_limit = Some(limit);
        self
    }

    /// The finished config (validated when the server starts).
    pub fn build(self) -> Config {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_user_data_forms() {
        let config = Config::builder().user_data(vec![0xff, 0, 1]).build();
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(Config::from_json(&text).unwrap(), config);

        let text = Config::from_json(r#"{"user_data": {"text": "hi"}}"#).unwrap();
        assert_eq!(text.user_data.unwrap().as_bytes(), b"hi");
        let none = Config::from_json(r#"{"user_data": null, "role_name": null}"#).unwrap();
        assert_eq!(none.user_data, None);
        assert_eq!(none.role_name, None);
    }

    #[test]
    fn rejects_typos_and_bad_values() {
        assert!(matches!(
            Config::from_json(r#"{"imdsv1_alowed": true}"#),
            Err(ConfigError::Json(_))
        ));
        assert!(matches!(
            Config::from_json(r#"{"max_token_ttl_secs": 0}"#),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_json(r#"{"tags": {"a b": "c"}}"#),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_json(r#"{"metadata": {"meta-data//x": "c"}}"#),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_json(r#"{"user_data": {"base64": "!!"}}"#),
            Err(ConfigError::Json(_))
        ));
        assert!(matches!(
            Config::from_json(r#"{"user_data": {"hex": "00"}}"#),
            Err(ConfigError::Json(_))
        ));
        for limit in [0, 65] {
            assert!(matches!(
                Config::from_json(&format!(r#"{{"put_response_hop_limit": {limit}}}"#)),
                Err(ConfigError::Invalid(_))
            ));
        }
        let config = Config::from_json(r#"{"put_response_hop_limit": 2}"#).unwrap();
        assert_eq!(config, Config::builder().put_response_hop_limit(2).build());
        assert!(matches!(
            Config::from_json(r#"{"account_id": "12345"}"#),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_json(r#"{"pending_time": "yesterday"}"#),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn user_data_base64_round_trips_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(
                serde_json::to_value(UserData::new(plain)).unwrap(),
                serde_json::json!({ "base64": encoded })
            );
            assert_eq!(decode_base64(encoded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode_base64(encoded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn user_data_base64_rejects_garbage() {
        assert_eq!(decode_base64("Zm9v!"), None);
        assert_eq!(decode_base64("Z"), None);
        assert_eq!(decode_base64("Zg==="), None);
        assert_eq!(decode_base64("Zm9\nv"), Some(b"foo".to_vec()));
    }

    #[test]
    fn user_data_debug_hides_bytes() {
        assert_eq!(
            format!("{:?}", UserData::new("secret")),
            "UserData(6 bytes)"
        );
    }
}
