//! What goes to stdout: credentials in each format, and the decision to
//! refuse binary data on a terminal.

use std::io::{self, Write};
use std::time::SystemTime;

use imds::Credentials;

use crate::exit::Failure;
use serde::Serialize;

/// `time` as RFC 3339 in UTC, to the second: `2024-07-05T05:43:29Z`.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// `value` quoted for a POSIX shell: in single quotes, each `'` written as
/// `'\''`. Nothing inside single quotes is special to the shell.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `export` lines for `eval "$(imds credentials --format env)"`.
pub fn env_exports(credentials: &Credentials) -> String {
    credential_variables(credentials)
        .iter()
        .map(|(name, value)| export_line(name, value))
        .collect()
}

/// The environment variables the AWS SDKs read credentials from, and
/// their values.
pub fn credential_variables(credentials: &Credentials) -> [(&'static str, &str); 3] {
    [
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id()),
        ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key()),
        ("AWS_SESSION_TOKEN", credentials.session_token()),
    ]
}

/// `export NAME='value'` and a newline.
pub fn export_line(name: &str, value: &str) -> String {
    format!("export {name}={}\n", shell_quote(value))
}

/// The AWS CLI's `credential_process` output, field for field and in this
/// order: what the SDKs' `CredentialProcessProvider`s parse.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialProcess<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

/// `{"Version":1,"AccessKeyId":…,"SecretAccessKey":…,"SessionToken":…,"Expiration":"RFC 3339"}`
/// and a newline.
pub fn credential_process(credentials: &Credentials) -> String {
    let document = CredentialProcess {
        version: 1,
        access_key_id: credentials.access_key_id(),
        secret_access_key: credentials.secret_access_key(),
        session_token: credentials.session_token(),
        expiration: rfc3339(credentials.expiration()),
    };
    json_line(&document, false)
}

/// The credentials with what is known about them, named as in IMDS's own
/// document: `imds credentials --format json`, and the credentials cache's
/// file.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialsJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated: Option<String>,
}

impl<'a> CredentialsJson<'a> {
    /// The document of `credentials`.
    pub fn new(credentials: &'a Credentials) -> Self {
        Self {
            role_name: credentials.role_name(),
            account_id: credentials.account_id(),
            access_key_id: credentials.access_key_id(),
            secret_access_key: credentials.secret_access_key(),
            token: credentials.session_token(),
            expiration: rfc3339(credentials.expiration()),
            last_updated: credentials.last_updated().map(rfc3339),
        }
    }
}

/// Pretty JSON: `RoleName`, `AccountId` (when known), `AccessKeyId`,
/// `SecretAccessKey`, `Token`, `Expiration`, `LastUpdated` (when known).
pub fn credentials_json(credentials: &Credentials) -> String {
    json_line(&CredentialsJson::new(credentials), true)
}

/// `value` as JSON and a newline.
pub fn json_line(value: &impl Serialize, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    // Serializing plain structs, strings and `serde_json::Value`s to a
    // string cannot fail.
    let mut text = text.unwrap_or_default();
    text.push('\n');
    text
}

/// Whether `bytes` would garble a terminal: not UTF-8, or holding control
/// characters other than tab, newline and carriage return (an escape
/// sequence in user data could reprogram the terminal).
pub fn is_binary(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_err()
        || bytes
            .iter()
            .any(|&b| (b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
}

/// Whether to refuse writing `bytes` to stdout: binary data, a terminal,
/// and no `--force`.
pub fn refuse_binary(bytes: &[u8], stdout_is_terminal: bool, force: bool) -> bool {
    stdout_is_terminal && !force && is_binary(bytes)
}

/// Writes `data` to stdout and flushes. A closed pipe (`imds dump | head`)
/// is not an error: the reader has what it wanted.
pub fn write_stdout(data: &[u8]) -> io::Result<()> {
    try_write_stdout(data).map(drop)
}

/// As [`write_stdout`], saying whether stdout is still open: `false` when
/// the reader has closed the pipe (nothing more to write).
pub fn try_write_stdout(data: &[u8]) -> io::Result<bool> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(data).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(error) => Err(error),
    }
}

/// One value, byte for byte, unless it is binary and stdout a terminal.
/// On a terminal a final newline is added to text that lacks one, so the
/// prompt starts on its own line.
pub fn write_bytes(what: &str, value: &[u8], terminal: bool, force: bool) -> Result<(), Failure> {
    if refuse_binary(value, terminal, force) {
        return Err(binary_refused(what, value));
    }
    write_stdout(value)?;
    if terminal && !value.is_empty() && !value.ends_with(b"\n") {
        write_stdout(b"\n")?;
    }
    Ok(())
}

/// Why a binary value was not written to a terminal.
pub fn binary_refused(what: &str, value: &[u8]) -> Failure {
    Failure::Other(format!(
        "{what} is binary ({} bytes) and stdout is a terminal: redirect it to a file \
         or a pipe, or use --force",
        value.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, UNIX_EPOCH};

    fn credentials(secret: &str) -> Credentials {
        Credentials::new(
            "ASIAIOSFODNN7EXAMPLE",
            secret,
            "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+==",
            // 2024-07-05T05:43:29Z
            UNIX_EPOCH + Duration::from_secs(1_720_158_209),
        )
    }

    #[test]
    fn shell_quoting_survives_a_real_shell() {
        for value in [
            "plain",
            "",
            "it's",
            "'",
            "''",
            "a b\tc\nd",
            "$HOME `id` $(id) \\ \" ! * ? ; & | < > ~ #",
            "'\\''",
        ] {
            let script = format!("printf %s {}", shell_quote(value));
            let output = Command::new("sh").arg("-c").arg(&script).output().unwrap();
            assert!(output.status.success(), "{script}");
            assert_eq!(String::from_utf8(output.stdout).unwrap(), value, "{script}");
        }
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn env_format_exports_three_variables_a_shell_can_eval() {
        let credentials = credentials("wJalr'XUtn $(id) FEMI");
        let exports = env_exports(&credentials);
        assert_eq!(exports.lines().count(), 3);
        assert!(exports.starts_with("export AWS_ACCESS_KEY_ID='ASIAIOSFODNN7EXAMPLE'\n"));
        let script = format!(
            "{exports}printf '%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\""
        );
        let output = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            "ASIAIOSFODNN7EXAMPLE|wJalr'XUtn $(id) FEMI|IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+=="
        );
    }

    #[test]
    fn credential_process_output_is_exact() {
        assert_eq!(
            credential_process(&credentials("se\"cret")),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAIOSFODNN7EXAMPLE\",\
             \"SecretAccessKey\":\"se\\\"cret\",\
             \"SessionToken\":\"IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+==\",\
             \"Expiration\":\"2024-07-05T05:43:29Z\"}\n"
        );
    }

    #[test]
    fn json_format_names_fields_as_imds_does() {
        let value: serde_json::Value =
            serde_json::from_str(&credentials_json(&credentials("s"))).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "SecretAccessKey": "s",
                "Token": "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+==",
                "Expiration": "2024-07-05T05:43:29Z",
            })
        );
    }

    #[test]
    fn binary_is_refused_on_a_terminal_only_without_force() {
        let gzip = b"\x1f\x8b\x08\x00binary";
        let text = b"#!/bin/sh\necho hi\tthere\r\n";
        let escape = b"\x1b]0;pwned\x07";
        let latin1 = b"caf\xe9";
        assert!(refuse_binary(gzip, true, false));
        assert!(refuse_binary(escape, true, false));
        assert!(refuse_binary(latin1, true, false));
        assert!(refuse_binary(b"nul\0", true, false));
        assert!(!refuse_binary(text, true, false));
        assert!(!refuse_binary("héllo ✓".as_bytes(), true, false));
        assert!(!refuse_binary(b"", true, false));
        // A pipe or a file gets the bytes; --force overrides.
        assert!(!refuse_binary(gzip, false, false));
        assert!(!refuse_binary(gzip, true, true));
    }
}
