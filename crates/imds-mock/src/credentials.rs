//! Rotating role credentials, as served at
//! `meta-data/iam/security-credentials/<role>`.
//!
//! A credential set lives for the configured lifetime. Like the real
//! service, the mock hands out a fresh set well before the old one expires:
//! when less than a quarter of the lifetime remains on the server clock
//! (90 minutes for the default 6 hours), so `Expiration` rolls forward as a
//! test advances the clock, and stays put before that point.
//!
//! IMDSv1 and IMDSv2 deliver different sets, as on EC2: "If you retrieve
//! IAM role credentials without a session token, you receive the IMDSv1
//! role credentials. If you retrieve IAM role credentials using a valid
//! session token, you receive the IMDSv2 role credentials"
//! (`ModifyInstanceMetadataOptions`, `HttpTokens`). Each set rotates on
//! its own, from the first read that asks for it.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokio::time::Instant;

use crate::json;
use crate::random;
use crate::server_clock::ServerClock;
use crate::sync::lock;

/// One set of temporary credentials.
struct CredentialSet {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    last_updated: SystemTime,
    expiration: SystemTime,
    /// `expiration` on the monotonic server clock: rotation is decided here.
    expires_at: Instant,
}

impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSet")
            .field("expiration", &rfc3339(self.expiration))
            .finish_non_exhaustive()
    }
}

impl CredentialSet {
    fn issue(lifetime: Duration, clock: &ServerClock) -> Self {
        let last_updated = clock.wall_now();
        Self {
            // Temporary (STS) keys start with ASIA; 20 characters in all.
            access_key_id: format!("ASIA{}", random::upper_alphanumeric(16)),
            // 40 characters of base64, like real secret keys.
            secret_access_key: STANDARD.encode(random::bytes::<30>()),
            // Session tokens are long opaque base64 blobs.
            session_token: STANDARD.encode(random::bytes::<264>()),
            last_updated,
            expiration: last_updated + lifetime,
            expires_at: clock.now() + lifetime,
        }
    }

    fn render(&self) -> String {
        json::render_object(&[
            ("Code", Value::from("Success")),
            ("LastUpdated", Value::from(rfc3339(self.last_updated))),
            ("Type", Value::from("AWS-HMAC")),
            ("AccessKeyId", Value::from(self.access_key_id.as_str())),
            (
                "SecretAccessKey",
                Value::from(self.secret_access_key.as_str()),
            ),
            ("Token", Value::from(self.session_token.as_str())),
            ("Expiration", Value::from(rfc3339(self.expiration))),
        ])
    }
}

/// `2026-11-22T19:30:00Z`: RFC 3339, UTC, whole seconds.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// What IMDS serves instead of credentials when it cannot get them (EC2
/// could not assume the role): a `Code` other than `Success`.
#[derive(Debug, Clone)]
struct ErrorDocument {
    code: String,
    message: String,
}

/// Which IMDS version a read came over: it decides which credential set
/// the read gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// A read without a token (IMDSv1 allowed).
    Imdsv1,
    /// A read with a valid session token.
    Imdsv2,
}

/// The role's current credential sets (one per IMDS version), each
/// replaced when it nears expiry.
#[derive(Debug)]
pub(crate) struct CredentialRotor {
    lifetime: Duration,
    imdsv1: Mutex<Option<CredentialSet>>,
    imdsv2: Mutex<Option<CredentialSet>>,
    error: Mutex<Option<ErrorDocument>>,
}

impl CredentialRotor {
    pub(crate) fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            imdsv1: Mutex::new(None),
            imdsv2: Mutex::new(None),
            error: Mutex::new(None),
        }
    }

    /// The credentials JSON of `delivery`'s set, rotating first if less
    /// than a quarter of the lifetime remains; the error document instead
    /// while one is set.
    pub(crate) fn credentials_json(&self, clock: &ServerClock, delivery: Delivery) -> String {
        if let Some(error) = lock(&self.error).clone() {
            return json::render_object(&[
                ("Code", Value::from(error.code)),
                ("Message", Value::from(error.message)),
                ("LastUpdated", Value::from(rfc3339(clock.wall_now()))),
            ]);
        }
        self.with_current(clock, delivery, CredentialSet::render)
    }

    /// Serves an error document with `code` and `message` (or, with
    /// `None`, credentials again).
    pub(crate) fn set_error(&self, error: Option<(String, String)>) {
        *lock(&self.error) = error.map(|(code, message)| ErrorDocument { code, message });
    }

    /// When `delivery`'s current set was issued (what `iam/info` reports).
    pub(crate) fn last_updated(&self, clock: &ServerClock, delivery: Delivery) -> SystemTime {
        self.with_current(clock, delivery, |set| set.last_updated)
    }

    fn with_current<T>(
        &self,
        clock: &ServerClock,
        delivery: Delivery,
        f: impl FnOnce(&CredentialSet) -> T,
    ) -> T {
        let mut current = lock(match delivery {
            Delivery::Imdsv1 => &self.imdsv1,
            Delivery::Imdsv2 => &self.imdsv2,
        });
        let now = clock.now();
        let fresh = current
            .as_ref()
            .is_some_and(|set| set.expires_at.saturating_duration_since(now) >= self.lifetime / 4);
        let set = match current.as_mut() {
            Some(set) if fresh => set,
            _ => current.insert(CredentialSet::issue(self.lifetime, clock)),
        };
        f(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_when_a_quarter_of_the_lifetime_remains() {
        let clock = ServerClock::default();
        let rotor = CredentialRotor::new(Duration::from_secs(4 * 3600));
        let first: Value =
            serde_json::from_str(&rotor.credentials_json(&clock, Delivery::Imdsv2)).unwrap();
        clock.advance(Duration::from_secs(3 * 3600 - 60));
        let same: Value =
            serde_json::from_str(&rotor.credentials_json(&clock, Delivery::Imdsv2)).unwrap();
        assert_eq!(first, same);
        clock.advance(Duration::from_secs(61));
        let next: Value =
            serde_json::from_str(&rotor.credentials_json(&clock, Delivery::Imdsv2)).unwrap();
        assert_ne!(first["AccessKeyId"], next["AccessKeyId"]);
        assert!(next["Expiration"].as_str() > first["Expiration"].as_str());
        let key = next["AccessKeyId"].as_str().unwrap();
        assert!(key.starts_with("ASIA") && key.len() == 20);
        assert_eq!(next["SecretAccessKey"].as_str().unwrap().len(), 40);
        assert!(!format!("{rotor:?}").contains(key));
    }

    #[test]
    fn an_error_document_replaces_the_credentials_until_cleared() {
        let clock = ServerClock::default();
        let rotor = CredentialRotor::new(Duration::from_secs(3600));
        let before: Value =
            serde_json::from_str(&rotor.credentials_json(&clock, Delivery::Imdsv2)).unwrap();
        rotor.set_error(Some((
            "AssumeRoleUnauthorizedAccess".into(),
            "denied".into(),
        )));
        let error: Value =
            serde_json::from_str(&rotor.credentials_json(&clock, Delivery::Imdsv2)).unwrap();
        assert_eq!(error["Code"], "AssumeRoleUnauthorizedAccess");
        assert_eq!(error["Message"], "denied");
        assert!(error.get("AccessKeyId").is_none() && error.get("Token").is_none());
        rotor.set_error(None);
        let after: Value =
            serde_json::from_str(&rotor.credentials_json(&clock, Delivery::Imdsv2)).unwrap();
        assert_eq!(after, before, "the same set as before the error");
    }

    #[test]
    fn imdsv1_and_imdsv2_get_different_sets_that_rotate_on_their_own() {
        let clock = ServerClock::default();
        let rotor = CredentialRotor::new(Duration::from_secs(4 * 3600));
        let read = |delivery| -> Value {
            serde_json::from_str(&rotor.credentials_json(&clock, delivery)).unwrap()
        };
        let v2 = read(Delivery::Imdsv2);
        clock.advance(Duration::from_secs(3600));
        let v1 = read(Delivery::Imdsv1);
        for field in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
            assert_ne!(v1[field], v2[field], "{field}");
        }
        assert_eq!(read(Delivery::Imdsv2), v2);
        assert_eq!(read(Delivery::Imdsv1), v1);
        // The v2 set (issued an hour earlier) rotates first.
        clock.advance(Duration::from_secs(2 * 3600));
        assert_ne!(read(Delivery::Imdsv2)["AccessKeyId"], v2["AccessKeyId"]);
        assert_eq!(read(Delivery::Imdsv1), v1);
        assert!(
            rotor.last_updated(&clock, Delivery::Imdsv1)
                < rotor.last_updated(&clock, Delivery::Imdsv2)
        );
    }
}
