//! Names and limits of the IMDSv2 wire protocol.

use http::HeaderName;

/// Request header carrying the session token on every metadata read.
pub const X_AWS_EC2_METADATA_TOKEN: HeaderName =
    HeaderName::from_static("x-aws-ec2-metadata-token");

/// Header carrying the token lifetime in seconds: sent with the token `PUT`,
/// echoed by IMDS in its response.
pub const X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS: HeaderName =
    HeaderName::from_static("x-aws-ec2-metadata-token-ttl-seconds");

/// Path of the token endpoint, on the same scheme, host and port as the reads.
pub const TOKEN_PATH: &str = "/latest/api/token";
