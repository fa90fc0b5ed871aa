//! One uncached fetch of role credentials: find the role, then read its
//! credentials, preferring the extended document.

use std::sync::atomic::{AtomicBool, Ordering};

use super::model::{self, Credentials};
use super::source::MetadataSource;
use crate::config::value::check_role_name;
use crate::config::{ConfigError, Source};
use crate::document::parse_text;
use crate::error::{Error, ResponseError};
use crate::listing;

/// The role listing, and the prefix of the classic credentials document.
pub(crate) const SECURITY_CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/";
/// The prefix of the extended credentials document (with `AccountId`).
pub(crate) const SECURITY_CREDENTIALS_EXTENDED: &str =
    "/latest/meta-data/iam/security-credentials-extended/";

/// Fetches credentials. Remembers whether IMDS serves the extended document,
/// to skip asking for it once it is known to be absent.
#[derive(Debug)]
pub(crate) struct Fetcher {
    role_name: Option<String>,
    extended_absent: AtomicBool,
}

impl Fetcher {
    pub(crate) fn new(role_name: Option<String>) -> Self {
        Self {
            role_name,
            extended_absent: AtomicBool::new(false),
        }
    }

    /// The configured role, or the one IMDS lists.
    async fn role<S: MetadataSource>(&self, source: &S) -> Result<String, Error> {
        if let Some(role) = &self.role_name {
            check_role_name(role).map_err(|reason| {
                Error::Config(ConfigError::invalid(
                    "EC2 instance profile role name",
                    role.clone(),
                    Source::Builder,
                    reason,
                ))
            })?;
            return Ok(role.clone());
        }
        // Roles can be swapped on a running instance: discover every time.
        let Some(body) = source.get(SECURITY_CREDENTIALS).await? else {
            return Err(Error::NoRole { role: None });
        };
        let text = parse_text(SECURITY_CREDENTIALS, &body)?;
        let Some(first) = listing::parse(text).into_iter().next() else {
            return Err(Error::NoRole { role: None });
        };
        let role = first.name().trim();
        check_role_name(role).map_err(|reason| {
            Error::bad_response(
                SECURITY_CREDENTIALS,
                ResponseError::InvalidField {
                    field: "role name",
                    reason,
                },
            )
        })?;
        Ok(role.to_owned())
    }

    /// Fetches the role's credentials: the extended document first, the
    /// classic one when the extended one is absent (404).
    pub(crate) async fn fetch<S: MetadataSource>(&self, source: &S) -> Result<Credentials, Error> {
        let role = self.role(source).await?;
        if !self.extended_absent.load(Ordering::Relaxed) {
            let path = format!("{SECURITY_CREDENTIALS_EXTENDED}{role}");
            if let Some(body) = source.get(&path).await? {
                return model::parse(&path, &role, &body);
            }
        }
        let path = format!("{SECURITY_CREDENTIALS}{role}");
        let Some(body) = source.get(&path).await? else {
            // Both absent: the role itself is unknown, which says nothing
            // about extended support.
            return Err(Error::NoRole { role: Some(role) });
        };
        if !self.extended_absent.swap(true, Ordering::Relaxed) {
            tracing::debug!(
                "IMDS has no security-credentials-extended; using security-credentials"
            );
        }
        model::parse(&path, &role, &body)
    }
}
