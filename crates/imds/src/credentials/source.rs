//! How the credentials provider reads IMDS.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::Error;

/// Something that reads IMDS paths: the client, or a fake in tests.
///
/// `path` is absolute, e.g. `/latest/meta-data/iam/security-credentials/`.
/// A 404 answer is `Ok(None)`; every other failure is an [`Error`].
pub trait MetadataSource: Send + Sync + 'static {
    /// Reads `path`.
    fn get(&self, path: &str) -> impl Future<Output = Result<Option<Bytes>, Error>> + Send;

    /// The IAM role configured for this source (the client's resolved
    /// `AWS_EC2_INSTANCE_PROFILE_NAME` / `ec2_instance_profile_name`), used
    /// by a [`CredentialsProvider`](crate::CredentialsProvider) that was not
    /// given one. `None` (the default): discover the role.
    fn role_name(&self) -> Option<&str> {
        None
    }
}

impl<T: MetadataSource> MetadataSource for Arc<T> {
    fn get(&self, path: &str) -> impl Future<Output = Result<Option<Bytes>, Error>> + Send {
        (**self).get(path)
    }

    fn role_name(&self) -> Option<&str> {
        (**self).role_name()
    }
}
