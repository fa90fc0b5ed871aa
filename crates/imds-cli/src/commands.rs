//! What each command does, once the client is built.

use std::io::IsTerminal;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use imds::client::DEFAULT_CONCURRENCY;
use imds::{Client, CredentialsProvider};
use serde_json::{Map, Value};

use crate::cli::Format;
use crate::credentials_cache::FileCredentialsStore;
use crate::exit::Failure;
use crate::output::{self, write_stdout};

/// `imds get PATH...`.
pub async fn get(
    client: &Client,
    paths: &[String],
    json: bool,
    force: bool,
) -> Result<(), Failure> {
    let values = read_all(paths.iter().map(String::as_str), |path| client.get(path)).await?;
    let values: Vec<(&String, Bytes)> = paths.iter().zip(values).collect();
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
        return output::write_bytes(path, value, terminal, force);
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

/// The values at `paths`, read with `read` in order, a bounded number at a
/// time (IMDS throttles). When any does not exist, nothing is returned
/// and the failure names every one missing.
pub async fn read_all<'a, T, Fut>(
    paths: impl IntoIterator<Item = &'a str>,
    read: impl Fn(&'a str) -> Fut,
) -> Result<Vec<T>, Failure>
where
    Fut: Future<Output = Result<Option<T>, imds::Error>>,
{
    let paths: Vec<&str> = paths.into_iter().collect();
    let values: Vec<Option<T>> = futures_util::stream::iter(&paths)
        .map(|path| read(path))
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
    Ok(values.into_iter().flatten().collect())
}

/// A value that must be text (among several, or in JSON).
fn text(path: &str, value: &[u8]) -> Result<String, Failure> {
    String::from_utf8(value.to_vec()).map_err(|_| {
        Failure::Other(format!(
            "{path} is not UTF-8 text; fetch it alone, without --json, to get its bytes"
        ))
    })
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
    let dir = start_dir(prefix).ok_or_else(|| {
        Failure::Usage(format!(
            "-E and -L read under /latest/ only, not {prefix:?}"
        ))
    })?;
    let matches = |path: &str| regex.as_ref().is_none_or(|regex| regex.is_match(path));
    let no_match = || {
        let regex = regex.as_ref().map_or("", |regex| regex.as_str());
        Failure::NotFound(vec![format!("no path under {prefix:?} matches {regex:?}")])
    };
    if list {
        let mut paths = client.paths(&dir).await?.ok_or_else(not_found)?;
        paths.retain(|path| matches(path));
        if paths.is_empty() && regex.is_some() {
            return Err(no_match());
        }
        let lines: String = paths.iter().map(|path| format!("{path}\n")).collect();
        return Ok(write_stdout(lines.as_bytes())?);
    }
    let mut matched = 0usize;
    let tree = client
        .walk_matching(&dir, |path| {
            let keep = matches(path);
            matched += usize::from(keep);
            keep
        })
        .await?
        .ok_or_else(not_found)?;
    if matched == 0 {
        return Err(no_match());
    }
    Ok(write_stdout(output::json_line(&tree, true).as_bytes())?)
}

/// The directory `prefix` names, relative to `/latest/` and ending in `/`
/// (or empty, for `/latest/` itself); `None` for a path outside `/latest/`:
/// `-E` and `-L` match and print paths relative to `/latest/`.
fn start_dir(prefix: &str) -> Option<String> {
    let relative = match prefix.strip_prefix("/latest") {
        Some(rest) => rest.strip_prefix('/').or((rest.is_empty()).then_some(""))?,
        None if prefix.starts_with('/') => return None,
        None => prefix,
    };
    let mut dir = relative.to_owned();
    if !dir.is_empty() && !dir.ends_with('/') {
        dir.push('/');
    }
    Some(dir)
}

/// `imds user-data`.
pub async fn user_data(client: &Client, force: bool) -> Result<(), Failure> {
    let data = client
        .user_data()
        .await?
        .ok_or_else(|| Failure::NotFound(vec!["this instance has no user data".to_owned()]))?;
    if output::refuse_binary(&data, std::io::stdout().is_terminal(), force) {
        return Err(output::binary_refused("the user data", &data));
    }
    // Byte for byte, even on a terminal.
    Ok(write_stdout(&data)?)
}

/// `imds credentials`, through `store` with `--cache`.
pub async fn credentials(
    client: &Client,
    format: Format,
    store: Option<FileCredentialsStore>,
) -> Result<(), Failure> {
    let provider = match store {
        Some(store) => {
            tracing::debug!(file = %store.path().display(), "credentials cache");
            CredentialsProvider::builder(client.clone())
                .credentials_store(store)
                .build()
        }
        None => client.credentials_provider(),
    };
    let credentials = provider.credentials().await?;
    tracing::debug!(?credentials, "credentials");
    let text = match format {
        Format::Json => output::credentials_json(&credentials),
        Format::Env => output::env_exports(&credentials),
        Format::CredentialProcess => output::credential_process(&credentials),
    };
    Ok(write_stdout(text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_dirs_are_relative_directories() {
        assert_eq!(start_dir("").as_deref(), Some(""));
        assert_eq!(start_dir("/latest").as_deref(), Some(""));
        assert_eq!(start_dir("/latest/").as_deref(), Some(""));
        assert_eq!(start_dir("meta-data").as_deref(), Some("meta-data/"));
        assert_eq!(
            start_dir("/latest/meta-data/placement").as_deref(),
            Some("meta-data/placement/")
        );
        assert_eq!(start_dir("/2021-07-15/meta-data/"), None);
        assert_eq!(start_dir("/latestx/"), None);
    }
}
