//! The credentials of an EC2 instance role, and parsing them from IMDS.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::error::{Error, ResponseError};

/// Temporary AWS credentials of the instance's IAM role.
///
/// `Debug` never shows the secret access key or the session token, and of
/// the access key ID only the last four characters (as `aws configure list`
/// does), or nothing for an ID shorter than 16 characters. Read the secrets
/// explicitly with [`secret_access_key`](Self::secret_access_key) and
/// [`session_token`](Self::session_token).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use imds::Credentials;
///
/// let expiration = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let credentials =
///     Credentials::new("ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "FwoGZXIvYXdz", expiration);
/// let debug = format!("{credentials:?}");
/// assert!(debug.contains("****************MPLE"));
/// assert!(!debug.contains("wJalrXUtnFEMI") && !debug.contains("FwoGZXIvYXdz"));
/// assert_eq!(credentials.secret_access_key(), "wJalrXUtnFEMI");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: SystemTime,
    account_id: Option<String>,
    role_name: Option<String>,
    last_updated: Option<SystemTime>,
}

impl Credentials {
    /// Credentials from their parts, without account or role metadata.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: impl Into<String>,
        expiration: SystemTime,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: session_token.into(),
            expiration,
            account_id: None,
            role_name: None,
            last_updated: None,
        }
    }

    /// Parses a credentials document as IMDS serves it at
    /// `meta-data/iam/security-credentials/ROLE` (or the
    /// `security-credentials-extended/ROLE` form, which adds `AccountId`),
    /// for example a body read with [`Client::get`](crate::Client::get).
    /// `path` is where the body came from and `role` the role it belongs
    /// to; both only go into the result and its errors.
    ///
    /// A `Code` other than `Success` is [`Error::Credentials`]; a missing or
    /// malformed field is [`Error::BadResponse`], whose message never quotes
    /// the document. An `Expiration` in the past is accepted: deciding what
    /// to do with expired credentials is the caller's job.
    ///
    /// ```
    /// use imds::{Credentials, Error};
    ///
    /// let path = "/latest/meta-data/iam/security-credentials/web";
    /// let body = br#"{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
    ///     "SecretAccessKey": "wJalrXUtnFEMI", "Token": "FwoGZXIvYXdz",
    ///     "Expiration": "2024-05-01T16:00:00Z", "Type": "AWS-HMAC"}"#;
    /// let credentials = Credentials::from_imds_json(path, "web", body)?;
    /// assert_eq!(credentials.role_name(), Some("web"));
    ///
    /// let refused = br#"{"Code": "AssumeRoleUnauthorizedAccess"}"#;
    /// assert!(matches!(
    ///     Credentials::from_imds_json(path, "web", refused),
    ///     Err(Error::Credentials { .. }),
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_imds_json(path: &str, role: &str, body: &[u8]) -> Result<Self, Error> {
        parse(path, role, body)
    }

    /// The access key ID (not secret: it shows in logs such as CloudTrail).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key. Secret: never log it.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token. Secret: never log it.
    pub fn session_token(&self) -> &str {
        &self.session_token
    }

    /// When the credentials stop working. For credentials served past their
    /// original expiry because IMDS was failing (see the provider's static
    /// stability), the extended time.
    pub fn expiration(&self) -> SystemTime {
        self.expiration
    }

    /// The AWS account the role belongs to, when IMDS said (the
    /// `security-credentials-extended` document does).
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// The IAM role the credentials belong to, when known.
    pub fn role_name(&self) -> Option<&str> {
        self.role_name.as_deref()
    }

    /// When IMDS last rotated the credentials, when it said.
    pub fn last_updated(&self) -> Option<SystemTime> {
        self.last_updated
    }

    /// The same credentials with another expiration.
    pub(crate) fn with_expiration(mut self, expiration: SystemTime) -> Self {
        self.expiration = expiration;
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &MaskedKeyId(&self.access_key_id))
            .field("secret_access_key", &Redacted)
            .field("session_token", &Redacted)
            .field("expiration", &Rfc3339(self.expiration))
            .field("account_id", &self.account_id)
            .field("role_name", &self.role_name)
            .finish_non_exhaustive()
    }
}

/// Prints a time as RFC 3339 (`2024-05-01T16:00:00Z`) when it has that
/// form, from 1970 to 9999, and as `SystemTime`'s own `Debug` otherwise:
/// humantime panics or fails outside that range, and `Debug` must not
/// (`Credentials::new` takes any time).
pub(crate) struct Rfc3339(pub(crate) SystemTime);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Debug for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 10000-01-01T00:00:00Z.
        const YEAR_10000: Duration = Duration::from_secs(253_402_300_800);
        match self.0.duration_since(UNIX_EPOCH) {
            Ok(since) if since < YEAR_10000 => {
                write!(f, "{}", humantime::format_rfc3339_seconds(self.0))
            }
            _ => write!(f, "{:?}", self.0),
        }
    }
}

/// Prints `** redacted **`.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

/// Prints an access key ID as `****************ABCD`.
struct MaskedKeyId<'a>(&'a str);

impl fmt::Debug for MaskedKeyId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chars = self.0.chars().count();
        if chars < 16 {
            return f.write_str("\"****\"");
        }
        let tail: String = self.0.chars().skip(chars - 4).collect();
        write!(f, "\"{}{tail}\"", "*".repeat(chars - 4))
    }
}

/// Parses the credentials document IMDS returns for `role` at `path`.
///
/// `Code` other than `Success` is [`Error::Credentials`]; a missing `Code`
/// counts as success when the credentials are there (as in aws-config).
/// Missing or malformed fields are [`Error::BadResponse`]; no message ever
/// quotes a value of the document. An unparseable `LastUpdated` is
/// ignored: nothing depends on it.
pub(crate) fn parse(path: &str, role: &str, body: &[u8]) -> Result<Credentials, Error> {
    let bad = |reason| Error::bad_response(path, reason);
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        // Position only: serde's message may quote part of the document.
        bad(ResponseError::Json(format!(
            "not a JSON document (line {}, column {})",
            error.line(),
            error.column()
        )))
    })?;
    let Some(document) = value.as_object() else {
        return Err(bad(ResponseError::Json("expected a JSON object".into())));
    };
    let optional = |field: &'static str| match document.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str())),
        Some(_) => Err(bad(ResponseError::InvalidField {
            field,
            reason: "expected a string".into(),
        })),
    };
    let required = |field: &'static str| match optional(field)? {
        None => Err(bad(ResponseError::MissingField(field))),
        Some("") => Err(bad(ResponseError::InvalidField {
            field,
            reason: "it is empty".into(),
        })),
        Some(text) => Ok(text),
    };

    if let Some(code) = optional("Code")?
        && code != "Success"
    {
        return Err(Error::Credentials {
            role: role.to_owned(),
            code: code.to_owned(),
            message: optional("Message")?.map(str::to_owned),
        });
    }
    let access_key_id = required("AccessKeyId")?;
    let secret_access_key = required("SecretAccessKey")?;
    let session_token = required("Token")?;
    let expiration = humantime::parse_rfc3339_weak(required("Expiration")?).map_err(|_| {
        bad(ResponseError::InvalidField {
            field: "Expiration",
            reason: "expected an RFC 3339 time such as 2024-01-01T00:00:00Z".into(),
        })
    })?;
    let last_updated =
        optional("LastUpdated")?.and_then(|text| humantime::parse_rfc3339_weak(text).ok());
    let account_id = optional("AccountId")?.map(str::to_owned);

    Ok(Credentials {
        access_key_id: access_key_id.to_owned(),
        secret_access_key: secret_access_key.to_owned(),
        session_token: session_token.to_owned(),
        expiration,
        account_id,
        role_name: Some(role.to_owned()),
        last_updated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKEN";

    fn document(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut object = serde_json::json!({
            "Code": "Success",
            "LastUpdated": "2024-05-01T10:00:00Z",
            "Type": "AWS-HMAC",
            "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "SecretAccessKey": SECRET,
            "Token": TOKEN,
            "Expiration": "2024-05-01T16:00:00Z",
        });
        for (key, value) in fields {
            if value.is_empty() {
                object.as_object_mut().unwrap().remove(*key);
            } else {
                object[*key] = serde_json::from_str(value).unwrap();
            }
        }
        serde_json::to_vec(&object).unwrap()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn parses_a_success_document() {
        let credentials = parse("/p", "web", &document(&[])).unwrap();
        assert_eq!(credentials.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(credentials.secret_access_key(), SECRET);
        assert_eq!(credentials.session_token(), TOKEN);
        // 2024-05-01T16:00:00Z
        assert_eq!(credentials.expiration(), at(1_714_579_200));
        assert_eq!(credentials.last_updated(), Some(at(1_714_557_600)));
        assert_eq!(credentials.role_name(), Some("web"));
        assert_eq!(credentials.account_id(), None);
    }

    #[test]
    fn extended_document_has_the_account() {
        let body = document(&[("AccountId", "\"123456789012\""), ("Other", "[1]")]);
        let credentials = parse("/p", "web", &body).unwrap();
        assert_eq!(credentials.account_id(), Some("123456789012"));
    }

    #[test]
    fn missing_code_counts_as_success_and_bad_last_updated_is_ignored() {
        let body = document(&[("Code", ""), ("LastUpdated", "\"yesterday\"")]);
        let credentials = parse("/p", "web", &body).unwrap();
        assert_eq!(credentials.last_updated(), None);
    }

    #[test]
    fn code_other_than_success_is_an_error_with_the_code() {
        let body = br#"{"Code": "AssumeRoleUnauthorizedAccess", "Message": "denied", "LastUpdated": "2024-05-01T10:00:00Z"}"#;
        match parse("/p", "web", body).unwrap_err() {
            Error::Credentials {
                role,
                code,
                message,
            } => {
                assert_eq!(role, "web");
                assert_eq!(code, "AssumeRoleUnauthorizedAccess");
                assert_eq!(message.as_deref(), Some("denied"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_and_invalid_fields_are_typed_errors_without_values() {
        let cases: &[(&[(&str, &str)], ResponseError)] = &[
            (
                &[("AccessKeyId", "")],
                ResponseError::MissingField("AccessKeyId"),
            ),
            (
                &[("SecretAccessKey", "")],
                ResponseError::MissingField("SecretAccessKey"),
            ),
            (&[("Token", "null")], ResponseError::MissingField("Token")),
            (
                &[("Expiration", "")],
                ResponseError::MissingField("Expiration"),
            ),
            (
                &[("Token", "\"\"")],
                ResponseError::InvalidField {
                    field: "Token",
                    reason: "it is empty".into(),
                },
            ),
            (
                &[("Token", "12345")],
                ResponseError::InvalidField {
                    field: "Token",
                    reason: "expected a string".into(),
                },
            ),
            (
                &[("Code", "7")],
                ResponseError::InvalidField {
                    field: "Code",
                    reason: "expected a string".into(),
                },
            ),
            (
                &[("Expiration", "\"tomorrow\"")],
                ResponseError::InvalidField {
                    field: "Expiration",
                    reason: "expected an RFC 3339 time such as 2024-01-01T00:00:00Z".into(),
                },
            ),
        ];
        for (fields, expected) in cases {
            let error = parse("/p", "web", &document(fields)).unwrap_err();
            match &error {
                Error::BadResponse { path, reason } => {
                    assert_eq!(path, "/p");
                    assert_eq!(reason, expected, "{fields:?}");
                }
                other => panic!("{other:?}"),
            }
            let message = error.to_string();
            assert!(
                !message.contains(SECRET) && !message.contains(TOKEN),
                "{message}"
            );
            assert!(!message.contains("12345"), "{message}");
        }
    }

    #[test]
    fn junk_is_an_error_never_a_panic() {
        let junk: &[&[u8]] = &[
            b"",
            b"null",
            b"[]",
            b"\"Success\"",
            b"{",
            b"\xff\xfe\xfd",
            b"{\"Code\": \"Success\"}",
            b"{\"AccessKeyId\": {\"nested\": true}}",
            b"{\"Expiration\": \"9999-99-99T99:99:99Z\"}",
        ];
        for body in junk {
            assert!(
                matches!(parse("/p", "r", body), Err(Error::BadResponse { .. })),
                "{body:?}"
            );
        }
        // A syntax error near a secret does not quote it.
        let body = format!("{{\"SecretAccessKey\": \"{SECRET}\" oops}}");
        let message = parse("/p", "r", body.as_bytes()).unwrap_err().to_string();
        assert!(!message.contains(SECRET), "{message}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let credentials = parse("/p", "web", &document(&[])).unwrap();
        let debug = format!("{credentials:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(!debug.contains("ASIAIOSFODNN7EXAMPLE"), "{debug}");
        assert!(debug.contains("\"****************MPLE\""), "{debug}");
        assert!(debug.contains("2024-05-01T16:00:00Z"), "{debug}");
        assert!(debug.contains("** redacted **"), "{debug}");

        let short = Credentials::new("AKID", "s", "t", UNIX_EPOCH);
        let debug = format!("{short:?}");
        assert!(debug.contains("access_key_id: \"****\""), "{debug}");
        assert!(!debug.contains("AKID"), "{debug}");
    }

    #[test]
    fn debug_of_times_humantime_cannot_format_does_not_panic() {
        // Found while writing the parser property tests: humantime panics
        // before 1970 and fails after 9999, and `format!` turned that into a
        // panic in `Debug`.
        for expiration in [
            UNIX_EPOCH - Duration::from_secs(1),
            UNIX_EPOCH + Duration::from_secs(253_402_300_800),
        ] {
            let credentials = Credentials::new("AKID", "s", "t", expiration);
            let debug = format!("{credentials:?}");
            assert!(debug.contains(&format!("{expiration:?}")), "{debug}");
        }
        let last = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
        let debug = format!("{:?}", Credentials::new("AKID", "s", "t", last));
        assert!(debug.contains("9999-12-31T23:59:59Z"), "{debug}");
    }
}
