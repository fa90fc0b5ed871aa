//! `imds env` and `imds exec`: instance metadata as environment variables.
//!
//! The common values come from the client's
//! [`instance_summary`](imds::Client::instance_summary); each `[NAME=]PATH`
//! argument adds one variable; `--credentials` adds the role's
//! credentials. `env` prints them as `export` lines, `exec` runs a program
//! with them set.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

use imds::Client;
use imds::client::InstanceSummary;

use crate::commands::read_all;
use crate::exit::{CANNOT_RUN, COMMAND_NOT_FOUND, Failure};
use crate::output;

/// Variables in order, each name once. Their values may be credentials:
/// `Debug` shows the names only.
#[derive(Default, PartialEq, Eq)]
pub struct Variables(Vec<(String, String)>);

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Variables")
            .field(&self.0.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .finish()
    }
}

impl Variables {
    /// Sets `name`: a name set before keeps its place and takes the new
    /// value, as the last of two `export`s wins in a shell.
    fn set(&mut self, name: &str, value: String) {
        match self.0.iter_mut().find(|(known, _)| known == name) {
            Some((_, old)) => *old = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// `export NAME='value'` lines.
    pub fn exports(&self) -> String {
        self.0
            .iter()
            .map(|(name, value)| output::export_line(name, value))
            .collect()
    }
}

/// The common values, by variable; values the instance does not have are
/// left out.
fn common(summary: &InstanceSummary) -> Vec<(&'static str, &str)> {
    let mut variables = vec![
        ("AWS_REGION", summary.region.as_str()),
        ("AWS_DEFAULT_REGION", summary.region.as_str()),
        ("EC2_INSTANCE_ID", summary.instance_id.as_str()),
        ("EC2_INSTANCE_TYPE", summary.instance_type.as_str()),
        ("EC2_AMI_ID", summary.image_id.as_str()),
        ("EC2_ACCOUNT_ID", summary.account_id.as_str()),
        ("EC2_AVAILABILITY_ZONE", summary.availability_zone.as_str()),
    ];
    if let Some(zone_id) = &summary.availability_zone_id {
        variables.push(("EC2_AVAILABILITY_ZONE_ID", zone_id));
    }
    if let Some(ipv4) = &summary.private_ipv4 {
        variables.push(("EC2_LOCAL_IPV4", ipv4));
    }
    variables
}

/// One `[NAME=]PATH` argument.
#[derive(Debug, PartialEq, Eq)]
struct Extra {
    name: String,
    path: String,
}

impl Extra {
    fn parse(argument: &str) -> Result<Self, Failure> {
        if let Some((name, path)) = argument.split_once('=')
            && is_variable_name(name)
        {
            return Ok(Self {
                name: name.to_owned(),
                path: path.to_owned(),
            });
        }
        let name = name_for(argument).ok_or_else(|| {
            Failure::Usage(format!(
                "no variable name can be made of {argument:?}: give one, NAME={argument}"
            ))
        })?;
        Ok(Self {
            name,
            path: argument.to_owned(),
        })
    }
}

/// A POSIX shell's variable names: a letter or `_`, then letters, digits
/// and `_`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `EC2_` and the path after `/latest/` and `meta-data/`, in upper case,
/// each run of characters other than ASCII letters and digits made one
/// `_`; `None` when no letter or digit is left.
fn name_for(path: &str) -> Option<String> {
    let relative = path
        .strip_prefix("/latest/")
        .or_else(|| path.strip_prefix('/'))
        .unwrap_or(path);
    let relative = relative.strip_prefix("meta-data/").unwrap_or(relative);
    let words: Vec<String> = relative
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    (!words.is_empty()).then(|| format!("EC2_{}", words.join("_")))
}

/// The variables of `imds env ARGUMENTS` (and `imds exec --path`): the
/// common values, then each argument's, then the credentials if asked.
/// The arguments are checked before any request; a path that does not
/// exist fails the whole, as `imds get` does.
pub async fn variables(
    client: &Client,
    arguments: &[String],
    credentials: bool,
) -> Result<Variables, Failure> {
    let extras = arguments
        .iter()
        .map(|argument| Extra::parse(argument))
        .collect::<Result<Vec<_>, _>>()?;
    let summary = client.instance_summary().await?;
    let mut variables = Variables::default();
    for (name, value) in common(&summary) {
        variables.set(name, value.to_owned());
    }
    let paths = extras.iter().map(|extra| extra.path.as_str());
    let values = read_all(paths, |path| client.get_text(path)).await?;
    for (extra, value) in extras.iter().zip(values) {
        if value.contains('\0') {
            return Err(Failure::Other(format!(
                "{}: the value holds a NUL byte, which no environment variable can",
                extra.path
            )));
        }
        variables.set(&extra.name, value);
    }
    if credentials {
        let credentials = client.credentials_provider().credentials().await?;
        for (name, value) in output::credential_variables(&credentials) {
            variables.set(name, value.to_owned());
        }
    }
    Ok(variables)
}

/// `imds exec`: replaces this process with `command`, run with
/// `variables` added to the environment, so that its exit status (or
/// signal), stdin, stdout and process ID are the command's own. Returns
/// only when the command cannot be run.
pub fn exec(command: &[OsString], variables: Variables) -> Failure {
    let Some((program, arguments)) = command.split_first() else {
        return Failure::Usage("no command to run".to_owned());
    };
    let error = std::process::Command::new(program)
        .args(arguments)
        .envs(variables.0)
        .exec();
    let code = if error.kind() == std::io::ErrorKind::NotFound {
        COMMAND_NOT_FOUND
    } else {
        CANNOT_RUN
    };
    Failure::CannotRun {
        code,
        message: format!("cannot run {}: {error}", program.to_string_lossy()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_variables_by_the_documented_rule() {
        for (path, name) in [
            ("meta-data/mac", "EC2_MAC"),
            ("/latest/meta-data/mac", "EC2_MAC"),
            (
                "meta-data/placement/availability-zone-id",
                "EC2_PLACEMENT_AVAILABILITY_ZONE_ID",
            ),
            ("meta-data/tags/instance/Name", "EC2_TAGS_INSTANCE_NAME"),
            (
                "meta-data/tags/instance/Cost:Center",
                "EC2_TAGS_INSTANCE_COST_CENTER",
            ),
            ("meta-data/network/interfaces/", "EC2_NETWORK_INTERFACES"),
            ("user-data", "EC2_USER_DATA"),
            (
                "dynamic/instance-identity/document",
                "EC2_DYNAMIC_INSTANCE_IDENTITY_DOCUMENT",
            ),
            (
                "/2021-07-15/meta-data/ami-id",
                "EC2_2021_07_15_META_DATA_AMI_ID",
            ),
            ("meta-data/tags/instance/Grüße", "EC2_TAGS_INSTANCE_GR_E"),
        ] {
            assert_eq!(name_for(path).as_deref(), Some(name), "{path}");
        }
        for nameless in ["", "/", "/latest/", "meta-data/", "--/"] {
            assert_eq!(name_for(nameless), None, "{nameless}");
        }
    }

    #[test]
    fn arguments_are_paths_or_name_equals_path() {
        let extra = |name: &str, path: &str| Extra {
            name: name.into(),
            path: path.into(),
        };
        assert_eq!(
            Extra::parse("APP_ENV=meta-data/tags/instance/Environment").unwrap(),
            extra("APP_ENV", "meta-data/tags/instance/Environment")
        );
        assert_eq!(
            Extra::parse("_x1=meta-data/mac").unwrap(),
            extra("_x1", "meta-data/mac")
        );
        assert_eq!(
            Extra::parse("meta-data/mac").unwrap(),
            extra("EC2_MAC", "meta-data/mac")
        );
        // Not a name before the `=`: all of it is the path.
        assert_eq!(
            Extra::parse("meta-data/tags/instance/a=b").unwrap(),
            extra("EC2_TAGS_INSTANCE_A_B", "meta-data/tags/instance/a=b")
        );
        assert_eq!(Extra::parse("1X=y").unwrap(), extra("EC2_1X_Y", "1X=y"));
        assert!(matches!(Extra::parse("/latest/"), Err(Failure::Usage(_))));
    }

    #[test]
    fn a_variable_set_twice_keeps_its_place_and_its_last_value() {
        let mut variables = Variables::default();
        variables.set("A", "1".into());
        variables.set("B", "2".into());
        variables.set("A", "it's".into());
        assert_eq!(variables.exports(), "export A='it'\\''s'\nexport B='2'\n");
    }

    #[test]
    fn debug_shows_names_not_values() {
        let mut variables = Variables::default();
        variables.set("AWS_SECRET_ACCESS_KEY", "s3cr3t".to_owned());
        let shown = format!("{variables:?}");
        assert!(shown.contains("AWS_SECRET_ACCESS_KEY"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
