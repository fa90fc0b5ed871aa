//! What each command does, once the client is built.

use std::io::IsTerminal;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use imds::Client;
use imds::client::DEFAULT_CONCURRENCY;
use serde_json::{Map, Value};

use crate::cli::Format;
use crate::exit::Failure;
use crate::output::{self, write_stdout};
use crate::tree;

/// `imds get PATH...`.
pub async fn get(
    client: &Client,
    paths: &[String],
    json: bool,
    force: bool,
) -> Result<(), Failure> {
    // In order, a bounded number at a time: IMDS throttles.
    let values: Vec<Option<Bytes>> = futures_util::stream::iter(paths)
        .map(|path| client.get(path))
        .buffered(DEFAULT_CONCURRENCY)
        .try_collect()
        .await?;
    let missing: Vec<String> = paths
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.is_none())
        .map(|(path, _)| format!("{path}: not found"))
        .collect();
    if !missing.is_empty() {
        return Err(Failure::NotFound(missing));
    }
    let values: Vec<(&String, Bytes)> = paths.iter().zip(values.into_iter().flatten()).collect();
    let terminal = std::io::stdout().is_terminal();

    if json {
        let mut object = Map::new();
        for (path, value) in values {
            object.insert(path.clone(), Value::String(text(path, &value)?));
        }
        return Ok(write_stdout(
            output::json_line(&Value::Object(object), true).as_bytes(),
        )?);
    }
    if let [(path, value)] = values.as_slice() {
        return write_bytes(path, value, terminal, force);
    }
    let mut lines = String::new();
    for (path, value) in values {
        lines.push_str(&text(path, &value)?);
        if !lines.ends_with('\n') {
            lines.push('\n');
        }
    }
    Ok(write_stdout(lines.as_bytes())?)
}

/// A value that must be text (among several, or in JSON).
fn text(path: &str, value: &[u8]) -> Result<String, Failure> {
    String::from_utf8(value.to_vec()).map_err(|_| {
        Failure::Other(format!(
            "{path} is not UTF-8 text; fetch it alone, without --json, to get its bytes"
        ))
    })
}

/// One value, byte for byte, unless it is binary and stdout a terminal.
/// On a terminal a final newline is added to text that lacks one, so the
/// prompt starts on its own line.
fn write_bytes(what: &str, value: &[u8], terminal: bool, force: bool) -> Result<(), Failure> {
    if output::refuse_binary(value, terminal, force) {
        return Err(binary_refused(what, value));
    }
    write_stdout(value)?;
    if terminal && !value.is_empty() && !value.ends_with(b"\n") {
        write_stdout(b"\n")?;
    }
    Ok(())
}

/// `imds dump [PATH-PREFIX] [-E REGEX] [-L]`.
pub async fn dump(
    client: &Client,
    prefix: &str,
    regex: Option<&str>,
    list: bool,
) -> Result<(), Failure> {
    let not_found = || Failure::NotFound(vec![format!("{prefix:?}: not found")]);
    if regex.is_none() && !list {
        let tree = client.walk(prefix).await?.ok_or_else(not_found)?;
        return Ok(write_stdout(output::json_line(&tree, true).as_bytes())?);
    }
    let regex = regex
        .map(regex_lite::Regex::new)
        .transpose()
        .map_err(|error| Failure::Usage(format!("invalid -E regular expression: {error}")))?;
    let dir = tree::start_dir(prefix).ok_or_else(|| {
        Failure::Usage(format!(
            "-E and -L read under /latest/ only, not {prefix:?}"
        ))
    })?;
    let mut leaves = tree::leaves(client, &dir).await?.ok_or_else(not_found)?;
    if let Some(regex) = &regex {
        leaves.retain(|leaf| regex.is_match(&leaf.path));
        if leaves.is_empty() {
            return Err(Failure::NotFound(vec![format!(
                "no path under {prefix:?} matches {:?}",
                regex.as_str()
            )]));
        }
    }
    if list {
        let lines: String = leaves
            .iter()
            .map(|leaf| format!("{}\n", leaf.path))
            .collect();
        return Ok(write_stdout(lines.as_bytes())?);
    }
    let tree = tree::fetch(client, &leaves).await?;
    Ok(write_stdout(output::json_line(&tree, true).as_bytes())?)
}

/// `imds user-data`.
pub async fn user_data(client: &Client, force: bool) -> Result<(), Failure> {
    let data = client
        .user_data()
        .await?
        .ok_or_else(|| Failure::NotFound(vec!["this instance has no user data".to_owned()]))?;
    if output::refuse_binary(&data, std::io::stdout().is_terminal(), force) {
        return Err(binary_refused("the user data", &data));
    }
    // Byte for byte, even on a terminal.
    Ok(write_stdout(&data)?)
}

fn binary_refused(what: &str, value: &[u8]) -> Failure {
    Failure::Other(format!(
        "{what} is binary ({} bytes) and stdout is a terminal: redirect it to a file \
         or a pipe, or use --force",
        value.len()
    ))
}

/// `imds credentials`.
pub async fn credentials(client: &Client, format: Format) -> Result<(), Failure> {
    let credentials = client.credentials_provider().credentials().await?;
    tracing::debug!(?credentials, "credentials");
    let text = match format {
        Format::Json => output::credentials_json(&credentials),
        Format::Env => output::env_exports(&credentials),
        Format::CredentialProcess => output::credential_process(&credentials),
    };
    Ok(write_stdout(text.as_bytes())?)
}
