//! The shared AWS config file (`~/.aws/config`): finding it, parsing it, and
//! reading the selected profile.
//!
//! Only the config file is read, never the credentials file: every IMDS
//! setting lives in the config file. The parser passes the AWS SDKs' shared
//! profile-parser conformance suite (`profile-parser-tests.json`, run by
//! `crates/interop-tests`), and reads files as aws-config does, but for the
//! two differences named below.
//!
//! - **Location**: `AWS_CONFIG_FILE` (a leading `~` is expanded), else
//!   `~/.aws/config` with the home directory from [`Env::home_dir`]. A missing
//!   file is not an error: it just holds no settings.
//! - **Profile**: `AWS_PROFILE`, else `default`.
//! - **Sections**: `[default]` and `[profile NAME]` (`profile` and the name
//!   separated by spaces or tabs). As in every AWS SDK, a bare `[NAME]` other
//!   than `default` is ignored in the config file (that form belongs to the
//!   credentials file), and so are other section kinds such as
//!   `[sso-session x]` or `[services x]`, and profiles whose name is not made
//!   of ASCII letters, digits and `_-/.%@:+` (`[profile a b]`,
//!   `[profile foo!bar]`). When both `[default]` and `[profile default]`
//!   exist, `[profile default]` wins. Repeated sections merge; a repeated key
//!   keeps its last value.
//! - **Properties**: `key = value`, whitespace around both trimmed. Keys are
//!   case-insensitive: they are lower-cased, as aws-config and botocore do,
//!   so `EC2_Metadata_Service_Endpoint` works. A key made of other characters
//!   than a profile name's (`in valid = x`) is ignored, as in the SDKs.
//!   Values are kept as written. Profile names are case-sensitive.
//! - **Comments**: lines starting with `#` or `;`, indented or not; in a
//!   property line, a `#` or `;` preceded by whitespace starts a comment
//!   (`key = a#b` keeps `a#b`); in a section line, `#` or `;` anywhere starts
//!   one.
//! - **Continuation lines**: an indented line continues the property above it
//!   (its text is appended to the value after a newline, comment characters
//!   after its start and all: `  more # c` appends `more # c`). Under a
//!   property with an empty value (`s3 =`), indented lines are
//!   sub-properties and must be `key = value`. No IMDS setting uses either.
//! - **Line endings**: `\n` or `\r\n`.
//!
//! Two differences from aws-config, where the conformance suite is silent:
//! an indented line starting with `#` or `;` is a comment here (as in
//! botocore), where aws-config reads it as a continuation line; and a UTF-8
//! byte-order mark at the start of the file is skipped, where aws-config
//! refuses the file.
//!
//! Malformed lines (a section without its closing `]`, a property with no
//! `=` or no name, a sub-property that is not `key = value`, a property
//! before any section, an indented line with no property above it) are
//! errors naming the file and line, as in the SDKs: a half-understood config
//! file is worse than a clear error. The parser never panics.
//!
//! The crate's own tests show each rule (`the_rules_at_a_glance` first).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::env::Env;

/// The environment variable that moves the config file.
pub const CONFIG_FILE_ENV: &str = "AWS_CONFIG_FILE";
/// The environment variable that selects the profile.
pub const PROFILE_ENV: &str = "AWS_PROFILE";
/// The profile used when none is selected.
pub const DEFAULT_PROFILE: &str = "default";

/// Config files larger than this are refused: a real one is a few kilobytes,
/// and the cap keeps `AWS_CONFIG_FILE=/dev/zero` from exhausting memory.
pub const MAX_CONFIG_FILE_SIZE: u64 = 4 * 1024 * 1024;

const WHITESPACE: [char; 2] = [' ', '\t'];
const COMMENT: [char; 2] = ['#', ';'];

/// The properties of one profile, as read from a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    path: PathBuf,
    name: String,
    properties: BTreeMap<String, String>,
}

impl Profile {
    /// The config file the profile was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profile's name (`default`, or `NAME` of `[profile NAME]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of `key`, looked up case-insensitively.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Every property of the profile, keys lower-cased. Empty when the file
    /// has no such profile.
    #[cfg(test)]
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }
}

/// Why the config file could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file exists but could not be read.
    #[error("cannot read AWS config file {}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<io::Error>,
    },
    /// The file is not UTF-8 text.
    #[error("AWS config file {} is not valid UTF-8 text", path.display())]
    NotUtf8 {
        /// The config file.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_CONFIG_FILE_SIZE`].
    #[error("AWS config file {} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The config file.
        path: PathBuf,
        /// The size limit in bytes.
        limit: u64,
    },
    /// A line of the file is malformed.
    #[error("AWS config file {} line {}: {}", path.display(), error.line, error.message)]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// The malformed line and what is wrong with it.
        error: ParseError,
    },
}

/// A malformed line of a config file, from [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with the line.
    pub message: &'static str,
}

/// Where the config file is: `AWS_CONFIG_FILE` (with a leading `~`
/// expanded), else `<home>/.aws/config`. `None` when neither the variable nor
/// a home directory is set.
pub fn config_file(env: &Env) -> Option<PathBuf> {
    match env.get_os(CONFIG_FILE_ENV).filter(|path| !path.is_empty()) {
        Some(path) => Some(expand_home(PathBuf::from(path), env)),
        None => env.home_dir().map(|home| home.join(".aws").join("config")),
    }
}

/// The selected profile name: `AWS_PROFILE` (trimmed), else `default`.
pub fn selected(env: &Env) -> String {
    env.get(PROFILE_ENV)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
}

/// Reads the config file located by [`config_file`] and returns the profile
/// `name` (or, when `None`, the one [`selected`] by the environment).
///
/// `Ok(None)` when there is no config file (no location, or no file there).
/// The returned profile is empty when the file does not define it. This does
/// blocking file I/O: call it once, at construction.
pub fn load(env: &Env, name: Option<&str>) -> Result<Option<Profile>, ProfileError> {
    let Some(path) = config_file(env) else {
        return Ok(None);
    };
    let name = name.map_or_else(|| selected(env), str::to_owned);
    let Some(text) = read_config_file(&path)? else {
        return Ok(None);
    };
    match parse(&text, &name) {
        Ok(properties) => Ok(Some(Profile {
            path,
            name,
            properties,
        })),
        Err(error) => Err(ProfileError::Syntax { path, error }),
    }
}

/// Parses config-file `text` and returns the properties of profile `name`
/// (keys lower-cased), empty when the file does not define it.
///
/// The whole file is checked: a malformed line anywhere is an error, whichever
/// profile is asked for.
pub fn parse(text: &str, name: &str) -> Result<BTreeMap<String, String>, ParseError> {
    Ok(parse_profiles(text)?.remove(name).unwrap_or_default())
}

/// Parses config-file `text` and returns every profile it defines, by name:
/// `[default]` (unless `[profile default]` exists) and each valid
/// `[profile NAME]`, with no properties when its sections have none.
pub fn parse_profiles(
    text: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // `[profile NAME]` sections, and `[default]` ones apart: they count only
    // when no `[profile default]` exists.
    let mut profiles = BTreeMap::<String, Properties>::new();
    let mut bare_default = None::<Properties>;
    // The section being read (`None` before the first one) and the property
    // that indented lines continue.
    let mut section: Option<Section> = None;
    let mut property: Option<Property> = None;

    // `lines` ends lines at `\n` and `\r\n`, as aws-config does.
    for (index, line) in text.lines().enumerate() {
        let error = |message| ParseError {
            line: index + 1,
            message,
        };
        let trimmed = line.trim_matches(WHITESPACE);
        if trimmed.is_empty() || trimmed.starts_with(COMMENT) {
            continue;
        }

        if line.starts_with(WHITESPACE) {
            let Some(section) = &section else {
                return Err(error(INDENTED_BEFORE_SECTION));
            };
            let Some(property) = &property else {
                return Err(error(INDENTED_WITHOUT_PROPERTY));
            };
            if property.has_sub_properties {
                split_property(line).map_err(|malformed| error(malformed.sub_property()))?;
            }
            let value = section
                .properties(&mut profiles, &mut bare_default)
                .zip(property.key.as_ref())
                .and_then(|(properties, key)| properties.get_mut(key));
            if let Some(value) = value {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }

        if line.starts_with('[') {
            let header = strip_comment(line, false);
            let inner = header
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .ok_or_else(|| error(UNCLOSED_SECTION))?;
            let parsed = Section::parse(inner);
            parsed.open(&mut profiles, &mut bare_default);
            section = Some(parsed);
            property = None;
            continue;
        }

        let Some(current) = &section else {
            return Err(error(PROPERTY_BEFORE_SECTION));
        };
        let (key, value) = split_property(line).map_err(|malformed| error(malformed.property()))?;
        let key = key.to_ascii_lowercase();
        // A key with other characters is ignored, as in the SDKs, but its
        // continuation lines are still read (and checked).
        let key = is_identifier(&key).then_some(key);
        if let Some((properties, key)) = current
            .properties(&mut profiles, &mut bare_default)
            .zip(key.as_ref())
        {
            properties.insert(key.clone(), value.to_owned());
        }
        property = Some(Property {
            key,
            has_sub_properties: value.is_empty(),
        });
    }

    if let Some(bare_default) = bare_default {
        profiles
            .entry(DEFAULT_PROFILE.to_owned())
            .or_insert(bare_default);
    }
    Ok(profiles)
}

/// The properties of one profile: keys lower-cased.
type Properties = BTreeMap<String, String>;

// What is wrong with a line, and what to write instead.
const UNCLOSED_SECTION: &str = "section header is missing its closing `]`";
const PROPERTY_BEFORE_SECTION: &str = "property before any section header";
const INDENTED_BEFORE_SECTION: &str = "indented line before any section";
const INDENTED_WITHOUT_PROPERTY: &str = "indented line with no property above it";
const PROPERTY_WITHOUT_EQUALS: &str = "expected `key = value`";
const PROPERTY_WITHOUT_NAME: &str = "property has no name before `=`";
const SUB_PROPERTY_WITHOUT_EQUALS: &str = "expected a sub-property `key = value`: \
     indented lines under a property with an empty value (`s3 =`) are sub-properties";
const SUB_PROPERTY_WITHOUT_NAME: &str = "sub-property has no name before `=`";

/// The kind of a section header, from the text between its brackets.
enum Section {
    /// `[default]`.
    BareDefault,
    /// `[profile NAME]`.
    Profile(String),
    /// Anything else: bare `[NAME]`, `[sso-session x]`, `[services x]`,
    /// `[profile NAME]` with an invalid name, ...
    Ignored,
}

impl Section {
    /// Creates the profile when missing, so that a section with no
    /// properties still defines it.
    fn open(
        &self,
        profiles: &mut BTreeMap<String, Properties>,
        bare_default: &mut Option<Properties>,
    ) {
        match self {
            Self::Profile(name) if !profiles.contains_key(name) => {
                profiles.insert(name.clone(), Properties::new());
            }
            Self::BareDefault => {
                bare_default.get_or_insert_default();
            }
            _ => {}
        }
    }

    /// The map this section's properties go to, once [`open`](Self::open)ed;
    /// `None` when the section is not a profile.
    fn properties<'m>(
        &self,
        profiles: &'m mut BTreeMap<String, Properties>,
        bare_default: &'m mut Option<Properties>,
    ) -> Option<&'m mut Properties> {
        match self {
            Self::Profile(name) => profiles.get_mut(name),
            Self::BareDefault => bare_default.as_mut(),
            Self::Ignored => None,
        }
    }

    /// Splits `[PREFIX NAME]` at its first space or tab, as aws-config does
    /// (which then trims each part of any Unicode whitespace).
    fn parse(inner: &str) -> Self {
        let inner = inner.trim_matches(WHITESPACE);
        match inner.split_once(WHITESPACE) {
            Some((prefix, name)) => {
                let name = name.trim();
                if prefix.trim() == "profile" && is_identifier(name) {
                    Self::Profile(name.to_owned())
                } else {
                    Self::Ignored
                }
            }
            None if inner.trim() == DEFAULT_PROFILE => Self::BareDefault,
            None => Self::Ignored,
        }
    }
}

/// The property that indented lines continue.
struct Property {
    /// Its lower-cased key; `None` when the key is invalid, and ignored.
    key: Option<String>,
    /// Whether its value is empty: the indented lines that follow are then
    /// sub-properties, which must be `key = value`.
    has_sub_properties: bool,
}

/// What is wrong with a (sub-)property line.
enum Malformed {
    NoEquals,
    NoName,
}

impl Malformed {
    fn property(self) -> &'static str {
        match self {
            Self::NoEquals => PROPERTY_WITHOUT_EQUALS,
            Self::NoName => PROPERTY_WITHOUT_NAME,
        }
    }

    fn sub_property(self) -> &'static str {
        match self {
            Self::NoEquals => SUB_PROPERTY_WITHOUT_EQUALS,
            Self::NoName => SUB_PROPERTY_WITHOUT_NAME,
        }
    }
}

/// Splits a `key = value` line, comment cut off, into its trimmed key and
/// value.
fn split_property(line: &str) -> Result<(&str, &str), Malformed> {
    let (key, value) = strip_comment(line, true)
        .split_once('=')
        .ok_or(Malformed::NoEquals)?;
    let key = key.trim_matches(WHITESPACE);
    if key.is_empty() {
        return Err(Malformed::NoName);
    }
    Ok((key, value.trim_matches(WHITESPACE)))
}

/// Whether `name` is a valid profile or property name: ASCII letters and
/// digits and `_-/.%@:+`, as in the SDKs.
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

/// Cuts a trailing comment off `line` and trims it. In property lines
/// (`need_whitespace`), a comment character only starts a comment when
/// whitespace (any, as in aws-config) precedes it, so values like `a#b`
/// survive.
fn strip_comment(line: &str, need_whitespace: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut previous_is_space = false;
    let mut end = line.len();
    for (index, c) in line.char_indices() {
        if COMMENT.contains(&c) && (previous_is_space || !need_whitespace) {
            end = index;
            break;
        }
        previous_is_space = c.is_whitespace();
    }
    line[..end].trim_matches(WHITESPACE)
}

/// Reads the file as UTF-8 text; `Ok(None)` when it does not exist.
fn read_config_file(path: &Path) -> Result<Option<String>, ProfileError> {
    let read_error = |source| ProfileError::Read {
        path: path.to_owned(),
        source: Arc::new(source),
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(read_error(error)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_FILE_SIZE {
        return Err(ProfileError::TooLarge {
            path: path.to_owned(),
            limit: MAX_CONFIG_FILE_SIZE,
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| ProfileError::NotUtf8 {
            path: path.to_owned(),
        })
}

/// Expands a leading `~` component with the home directory, when known.
fn expand_home(path: PathBuf, env: &Env) -> PathBuf {
    let Ok(rest) = path.strip_prefix("~") else {
        return path;
    };
    match env.home_dir() {
        Some(home) if rest.as_os_str().is_empty() => home,
        Some(home) => home.join(rest),
        None => path,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // What the module's documentation describes, at a glance.
    #[test]
    fn the_rules_at_a_glance() {
        let text = "\
[default]
region = eu-west-1

[profile dev]
EC2_Metadata_Service_Endpoint = http://127.0.0.1:1338 ; local mock
";
        let dev = parse(text, "dev").unwrap();
        assert_eq!(
            dev.get("ec2_metadata_service_endpoint").map(String::as_str),
            Some("http://127.0.0.1:1338"),
        );
        assert!(parse(text, "missing").unwrap().is_empty());

        let error = parse("[default]\ns3 =\n  addressing_style\n", "default");
        assert_eq!(error.unwrap_err().line, 3);
    }

    /// A temporary directory, removed on drop. Tests point `HOME` or
    /// `AWS_CONFIG_FILE` at it through an [`Env`] map.
    pub(crate) struct TempDir(tempfile::TempDir);

    impl TempDir {
        pub(crate) fn new() -> Self {
            Self(
                tempfile::Builder::new()
                    .prefix("imds-test-")
                    .tempdir()
                    .unwrap(),
            )
        }

        pub(crate) fn path(&self) -> &Path {
            self.0.path()
        }

        /// Writes `~/.aws/config` under this directory used as a home.
        pub(crate) fn write_config(&self, contents: impl AsRef<[u8]>) -> PathBuf {
            let aws = self.path().join(".aws");
            std::fs::create_dir_all(&aws).unwrap();
            let path = aws.join("config");
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn default_and_named_profiles() {
        let text = "[default]\na = 1\n[profile dev]\na = 2\nb = 3\n";
        assert_eq!(parse(text, "default").unwrap(), props(&[("a", "1")]));
        assert_eq!(
            parse(text, "dev").unwrap(),
            props(&[("a", "2"), ("b", "3")])
        );
        assert_eq!(parse(text, "prod").unwrap(), props(&[]));
    }

    #[test]
    fn bare_named_sections_are_ignored_in_the_config_file() {
        let text = "[dev]\na = 1\n[profiledev]\na = 2\n[sso-session dev]\na = 3\n";
        assert!(parse(text, "dev").unwrap().is_empty());
    }

    #[test]
    fn profile_default_wins_over_bare_default() {
        let text = "[profile default]\na = prefixed\n[default]\na = bare\nb = bare\n";
        assert_eq!(parse(text, "default").unwrap(), props(&[("a", "prefixed")]));
        let text = "[default]\na = bare\n";
        assert_eq!(parse(text, "default").unwrap(), props(&[("a", "bare")]));
    }

    #[test]
    fn repeated_sections_merge_and_last_key_wins() {
        let text = "[profile p]\na = 1\nb = 1\n[default]\n[profile p]\nb = 2\nb = 3\n";
        assert_eq!(parse(text, "p").unwrap(), props(&[("a", "1"), ("b", "3")]));
    }

    #[test]
    fn keys_are_case_insensitive_values_and_names_are_not() {
        let text = "[profile Dev]\nEC2_Metadata_Service_Endpoint = HTTP://X\n";
        assert_eq!(
            parse(text, "Dev").unwrap(),
            props(&[("ec2_metadata_service_endpoint", "HTTP://X")])
        );
        assert!(parse(text, "dev").unwrap().is_empty());
    }

    #[test]
    fn whitespace_in_headers_and_properties() {
        let text = "[ profile \t dev ]\n  \n\tkey\t=\tvalue with spaces \t\n";
        // The tab-indented line continues nothing: there is no property yet.
        assert!(parse(text, "dev").is_err());
        let text = "[ profile \t dev ]\nkey\t=\tvalue with spaces \t\nempty =\n";
        assert_eq!(
            parse(text, "dev").unwrap(),
            props(&[("key", "value with spaces"), ("empty", "")])
        );
        // A name with inner whitespace is not a valid profile name.
        assert!(parse("[profile a b]\nk = v\n", "a b").unwrap().is_empty());
        assert!(parse("[profile ]\nk = v\n", "").unwrap().is_empty());
    }

    #[test]
    fn comments() {
        let text = "\
# full line
; full line
  # indented full line
[default] # header comment
a = 1 # trailing
b = 2;not a comment
c = 3 ;comment
d = x#y
e = http://h/#frag
";
        assert_eq!(
            parse(text, "default").unwrap(),
            props(&[
                ("a", "1"),
                ("b", "2;not a comment"),
                ("c", "3"),
                ("d", "x#y"),
                ("e", "http://h/#frag"),
            ])
        );
        assert_eq!(
            parse("[profile a;b]\nk = v\n", "a"),
            Err(ParseError {
                line: 1,
                message: "section header is missing its closing `]`"
            })
        );
    }

    #[test]
    fn continuation_and_sub_properties() {
        let text = "\
[default]
s3 =
  max_concurrent_requests = 10
  addressing_style = path
a = first
  second
b = 1
";
        assert_eq!(
            parse(text, "default").unwrap(),
            props(&[
                (
                    "s3",
                    "\nmax_concurrent_requests = 10\naddressing_style = path"
                ),
                ("a", "first\nsecond"),
                ("b", "1"),
            ])
        );
        // Continuations in other profiles are skipped, not misattributed.
        let text = "[profile other]\na = 1\n  more\n[default]\na = 2\n";
        assert_eq!(parse(text, "default").unwrap(), props(&[("a", "2")]));
    }

    #[test]
    fn crlf_and_bom() {
        let text = "\u{feff}[default]\r\na = 1\r\n\r\n[profile p]\r\nb = 2\r\n";
        assert_eq!(parse(text, "default").unwrap(), props(&[("a", "1")]));
        assert_eq!(parse(text, "p").unwrap(), props(&[("b", "2")]));
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert!(parse("", "default").unwrap().is_empty());
        assert!(parse("\n\n# nothing\n", "default").unwrap().is_empty());
        assert!(parse("[default]", "default").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[default\na = 1\n",
                1,
                "section header is missing its closing `]`",
            ),
            ("[default]\n= value\n", 2, "property has no name before `=`"),
            ("[default]\n\njust words\n", 3, "expected `key = value`"),
            ("a = 1\n", 1, "property before any section header"),
            ("  a = 1\n", 1, "indented line before any section"),
            (
                "[default]\n  a = 1\n",
                2,
                "indented line with no property above it",
            ),
        ];
        for (text, line, message) in cases {
            assert_eq!(
                parse(text, "default"),
                Err(ParseError {
                    line: *line,
                    message
                }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn odd_inputs_never_panic() {
        for text in [
            "[",
            "]",
            "[]",
            "[[]]",
            "=",
            "==",
            "[default]\n=",
            "[default]\na==b",
            "\r",
            "\r\n\r\n",
            "[default]\r",
            "\u{feff}",
            "[profile ü]\nä = ö\n  ü\n",
            "[default]\na = 1\n\t",
            "\t\t\n[default]\n\t#",
        ] {
            let _ = parse(text, "default");
            let _ = parse(text, "ü");
        }
        assert_eq!(
            parse("[default]\na==b", "default").unwrap(),
            props(&[("a", "=b")])
        );
    }

    #[test]
    fn every_profile_of_a_file() {
        let text = "\
[default]
a = bare
[profile dev]
[profile prod]
b = 1
[profile dev]
c = 2
";
        let profiles = parse_profiles(text).unwrap();
        assert_eq!(
            profiles,
            BTreeMap::from([
                ("default".to_owned(), props(&[("a", "bare")])),
                ("dev".to_owned(), props(&[("c", "2")])),
                ("prod".to_owned(), props(&[("b", "1")])),
            ])
        );
        let with_prefixed = format!("{text}[profile default]\n");
        assert_eq!(
            parse_profiles(&with_prefixed).unwrap()["default"],
            props(&[])
        );
    }

    #[test]
    fn invalid_names_are_ignored() {
        let text = "\
[profile foo!bar]
a = 1
[profile some-thing:long/the_one%only.foo@bar+]
in valid = ignored
  with its continuation
b!c = ignored
Valid_Name-1 = kept
";
        assert_eq!(
            parse_profiles(text).unwrap(),
            BTreeMap::from([(
                "some-thing:long/the_one%only.foo@bar+".to_owned(),
                props(&[("valid_name-1", "kept")])
            )])
        );
    }

    #[test]
    fn section_headers_split_like_aws_config() {
        // `profile` and the name are split at the first space or tab, and
        // each part is then trimmed of any Unicode whitespace.
        for header in [
            "[profile foo]",
            "[profile\tfoo]",
            "[ \t profile  foo \t ]",
            "[profile foo\u{a0}]",
            "[\u{a0}profile foo]",
        ] {
            let text = format!("{header}\na = 1\n");
            assert_eq!(
                parse(&text, "foo").unwrap(),
                props(&[("a", "1")]),
                "{header:?}"
            );
        }
        for header in [
            "[profilefoo]",
            "[profile\u{a0}foo]",
            "[PROFILE foo]",
            "[profile]",
        ] {
            let text = format!("{header}\na = 1\n");
            assert!(parse_profiles(&text).unwrap().is_empty(), "{header:?}");
        }
        assert_eq!(
            parse("[\u{a0}default ]\na = 1\n", "default").unwrap(),
            props(&[("a", "1")])
        );
    }

    #[test]
    fn sub_properties_must_be_key_value() {
        let text = "[default]\ns3 =\n  in valid = x # kept\n\n  b =\n";
        assert_eq!(
            parse(text, "default").unwrap(),
            props(&[("s3", "\nin valid = x # kept\nb =")])
        );
        let cases: &[(&str, &str)] = &[
            ("[default]\ns3 =\n  invalid\n", SUB_PROPERTY_WITHOUT_EQUALS),
            (
                "[default]\ns3 = ; empty\n  a #= b\n",
                SUB_PROPERTY_WITHOUT_EQUALS,
            ),
            ("[default]\ns3 =\n  = value\n", SUB_PROPERTY_WITHOUT_NAME),
            // Sub-properties of ignored properties and sections are checked.
            (
                "[default]\nin valid =\n  = value\n",
                SUB_PROPERTY_WITHOUT_NAME,
            ),
            (
                "[sso-session x]\ns3 =\n  invalid\n",
                SUB_PROPERTY_WITHOUT_EQUALS,
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse(text, "default"),
                Err(ParseError { line: 3, message }),
                "{text:?}"
            );
        }
        // A property with a value takes free-form continuation lines.
        assert_eq!(
            parse("[default]\na = 1\n  free form\n", "default").unwrap(),
            props(&[("a", "1\nfree form")])
        );
    }

    #[test]
    fn sub_property_error_says_what_to_write() {
        let home = TempDir::new();
        let path = home.write_config("[default]\ns3 =\n  addressing_style\n");
        let env = Env::from_map([("HOME", home.path())]);
        let message = load(&env, None).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "AWS config file {} line 3: expected a sub-property `key = value`: indented \
                 lines under a property with an empty value (`s3 =`) are sub-properties",
                path.display()
            )
        );
    }

    #[test]
    fn config_file_location() {
        let env = Env::from_map([("HOME", "/home/u")]);
        assert_eq!(
            config_file(&env),
            Some(PathBuf::from("/home/u/.aws/config"))
        );
        let env = Env::from_map([("HOME", "/home/u"), (CONFIG_FILE_ENV, "/etc/aws.conf")]);
        assert_eq!(config_file(&env), Some(PathBuf::from("/etc/aws.conf")));
        let env = Env::from_map([("HOME", "/home/u"), (CONFIG_FILE_ENV, "~/cfg")]);
        assert_eq!(config_file(&env), Some(PathBuf::from("/home/u/cfg")));
        let env = Env::from_map([(CONFIG_FILE_ENV, "~/cfg")]);
        assert_eq!(config_file(&env), Some(PathBuf::from("~/cfg")));
        let env = Env::from_map([("HOME", "/home/u"), (CONFIG_FILE_ENV, "")]);
        assert_eq!(
            config_file(&env),
            Some(PathBuf::from("/home/u/.aws/config"))
        );
        assert_eq!(config_file(&Env::from_map::<_, String, String>([])), None);
    }

    #[test]
    fn selected_profile() {
        assert_eq!(selected(&Env::from_map([(PROFILE_ENV, " dev ")])), "dev");
        assert_eq!(selected(&Env::from_map([(PROFILE_ENV, "")])), "default");
        assert_eq!(selected(&Env::from_map::<_, String, String>([])), "default");
    }

    #[test]
    fn load_reads_the_selected_profile() {
        let home = TempDir::new();
        let path = home.write_config("[default]\na = 1\n[profile dev]\na = 2\n");
        let home_str = home.path().to_str().unwrap();

        let env = Env::from_map([("HOME", home_str), (PROFILE_ENV, "dev")]);
        let profile = load(&env, None).unwrap().unwrap();
        assert_eq!(profile.path(), path);
        assert_eq!(profile.name(), "dev");
        assert_eq!(profile.get("A"), Some("2"));
        assert_eq!(profile.properties().len(), 1);

        let profile = load(&env, Some("default")).unwrap().unwrap();
        assert_eq!(profile.get("a"), Some("1"));
        let profile = load(&env, Some("nope")).unwrap().unwrap();
        assert!(profile.properties().is_empty());
    }

    #[test]
    fn missing_file_or_location_is_not_an_error() {
        let home = TempDir::new();
        let env = Env::from_map([("HOME", home.path().to_str().unwrap())]);
        assert_eq!(load(&env, None).unwrap(), None);
        let env = Env::from_map([(CONFIG_FILE_ENV, home.path().join("nope"))]);
        assert_eq!(load(&env, None).unwrap(), None);
        assert_eq!(
            load(&Env::from_map::<_, String, String>([]), None).unwrap(),
            None
        );
    }

    #[test]
    fn aws_config_file_moves_the_file() {
        let dir = TempDir::new();
        let path = dir.path().join("elsewhere.ini");
        std::fs::write(&path, "[default]\na = moved\n").unwrap();
        let env = Env::from_map([
            (CONFIG_FILE_ENV, path.clone().into_os_string()),
            ("HOME", "/nonexistent".into()),
        ]);
        let profile = load(&env, None).unwrap().unwrap();
        assert_eq!(profile.path(), path);
        assert_eq!(profile.get("a"), Some("moved"));
    }

    #[test]
    fn non_utf8_file_is_an_error_naming_the_file() {
        let home = TempDir::new();
        let path = home.write_config(b"[default]\na = \xff\xfe\n");
        let env = Env::from_map([("HOME", home.path())]);
        let error = load(&env, None).unwrap_err();
        assert!(matches!(error, ProfileError::NotUtf8 { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(path.to_str().unwrap()), "{message}");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let home = TempDir::new();
        let path = home.write_config("[default]\na = 1\n[profile dev\n");
        let env = Env::from_map([("HOME", home.path())]);
        let message = load(&env, None).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "AWS config file {} line 3: section header is missing its closing `]`",
                path.display()
            )
        );
    }

    #[test]
    fn unreadable_path_is_an_error() {
        // A directory opens but cannot be read as a file.
        let dir = TempDir::new();
        let env = Env::from_map([(CONFIG_FILE_ENV, dir.path())]);
        let error = load(&env, None).unwrap_err();
        assert!(matches!(error, ProfileError::Read { .. }), "{error:?}");
        assert!(std::error::Error::source(&error).is_some());
        assert!(error.to_string().contains(dir.path().to_str().unwrap()));
    }

    #[test]
    fn oversized_file_is_an_error() {
        let home = TempDir::new();
        let mut big = b"[default]\n".to_vec();
        big.resize(MAX_CONFIG_FILE_SIZE as usize + 1, b'#');
        home.write_config(big);
        let env = Env::from_map([("HOME", home.path())]);
        let error = load(&env, None).unwrap_err();
        assert!(matches!(error, ProfileError::TooLarge { .. }), "{error:?}");
    }

    /// Property tests: a file rendered from a model parses back to it, in
    /// any of the layouts the parser accepts; a malformed line is an error
    /// naming it; any text is a profile or an error.
    mod properties {
        use std::collections::BTreeMap;

        use proptest::prelude::*;
        use proptest::test_runner::Config;

        use super::super::*;

        /// Few cases per property: the fuzzer (`fuzz/fuzz_targets/profile.rs`)
        /// is where long runs happen.
        fn config() -> Config {
            Config {
                cases: 128,
                // No `proptest-regressions/` files: a failure is turned into
                // a unit test by hand.
                failure_persistence: None,
                ..Config::default()
            }
        }

        /// A section header of a config file.
        #[derive(Debug, Clone)]
        enum Header {
            /// `[default]`.
            BareDefault,
            /// `[profile NAME]`.
            Profile(String),
            /// A section that is not a profile of the config file.
            Ignored(String),
        }

        /// A property, with the indented lines that continue its value
        /// (sub-properties when the value is empty).
        #[derive(Debug, Clone)]
        struct Property {
            key: String,
            value: String,
            continuation: Vec<String>,
        }

        /// How a file is written: the same content in the many forms the
        /// parser accepts.
        #[derive(Debug, Clone)]
        struct Layout {
            crlf: bool,
            bom: bool,
            final_newline: bool,
            /// Indexed by line, cycled: spacing and comment choices.
            spacing: Vec<(u8, bool)>,
        }

        fn profile_name() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("default".to_owned()),
                Just("dev".to_owned()),
                "[A-Za-z0-9_.-]{1,10}"
            ]
        }

        fn header() -> impl Strategy<Value = Header> {
            prop_oneof![
                Just(Header::BareDefault),
                profile_name().prop_map(Header::Profile),
                prop_oneof![
                    "[a-z]{1,8}".prop_filter("not default", |n| n != "default"),
                    "sso-session [a-z]{1,8}",
                    "services [a-z]{1,8}",
                    "profile[a-z]{1,8}",
                    "profile [a-z]{1,4} [a-z]{1,4}",
                ]
                .prop_map(Header::Ignored),
            ]
        }

        /// A value as written after `=`: inner spaces allowed, but no
        /// whitespace before `#` or `;` (that starts a comment) and none at
        /// either end.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                "[A-Za-z0-9:/._=@+-][A-Za-z0-9:/._=@+#;é -]{0,20}"
                    .prop_map(|v| v.trim_end().to_owned())
                    .prop_filter("no comment", |v| !v.contains(" #") && !v.contains(" ;")),
            ]
        }

        /// A sub-property line, `name = value`: names may hold spaces
        /// (they are not checked), values anything.
        fn sub_property() -> impl Strategy<Value = String> {
            (
                "[A-Za-z0-9_]([A-Za-z0-9_ ]{0,5}[A-Za-z0-9_])?",
                prop_oneof![Just("="), Just(" = "), Just(" =")],
                "([A-Za-z0-9=#;][A-Za-z0-9 =#;]{0,8}[A-Za-z0-9=])?",
            )
                .prop_map(|(name, equals, value)| {
                    format!("{name}{equals}{value}").trim_end().to_owned()
                })
        }

        fn property() -> impl Strategy<Value = Property> {
            (
                "[A-Za-z][A-Za-z0-9_]{0,12}",
                value(),
                proptest::collection::vec("[A-Za-z0-9=][A-Za-z0-9 =#;]{0,10}[A-Za-z0-9=]", 0..2),
                proptest::collection::vec(sub_property(), 0..3),
            )
                .prop_map(|(key, value, continuation, sub_properties)| {
                    // Under an empty value, indented lines are sub-properties
                    // and must be `key = value`.
                    let continuation = if value.is_empty() {
                        sub_properties
                    } else {
                        continuation
                    };
                    Property {
                        key,
                        value,
                        continuation,
                    }
                })
        }

        fn file() -> impl Strategy<Value = Vec<(Header, Vec<Property>)>> {
            proptest::collection::vec(
                (header(), proptest::collection::vec(property(), 0..4)),
                1..6,
            )
        }

        fn layout() -> impl Strategy<Value = Layout> {
            (
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                proptest::collection::vec((0..4u8, any::<bool>()), 1..8),
            )
                .prop_map(|(crlf, bom, final_newline, spacing)| Layout {
                    crlf,
                    bom,
                    final_newline,
                    spacing,
                })
        }

        /// The file's lines: always opening with a section header.
        fn render_lines(sections: &[(Header, Vec<Property>)], layout: &Layout) -> Vec<String> {
            let pad = ["", " ", "\t", " \t "];
            let mut lines = Vec::new();
            let mut choice = layout.spacing.iter().cycle();
            for (header, properties) in sections {
                let (space, comment) = *choice.next().unwrap();
                let space = pad[usize::from(space)];
                let inner = match header {
                    Header::BareDefault => "default".to_owned(),
                    Header::Profile(name) => format!("profile{space} {name}"),
                    Header::Ignored(inner) => inner.clone(),
                };
                let comment = if comment { " # a comment" } else { "" };
                lines.push(format!("[{space}{inner}{space}]{comment}"));
                for property in properties {
                    let (space, comment) = *choice.next().unwrap();
                    let space = pad[usize::from(space)];
                    if comment {
                        lines.push(String::new());
                        lines.push(format!("{space}; a full-line comment"));
                    }
                    let trailing = if comment { " ; trailing comment" } else { "" };
                    lines.push(format!(
                        "{key}{space}={space}{value}{space}{trailing}",
                        key = property.key,
                        value = property.value,
                    ));
                    for more in &property.continuation {
                        lines.push(format!("  {more}{space}"));
                    }
                }
            }
            lines
        }

        fn join(lines: &[String], layout: &Layout) -> String {
            let end = if layout.crlf { "\r\n" } else { "\n" };
            let mut text = if layout.bom {
                "\u{feff}".to_owned()
            } else {
                String::new()
            };
            text.push_str(&lines.join(end));
            if layout.final_newline {
                text.push_str(end);
            }
            text
        }

        /// What `parse` should return for `name`: the `[profile NAME]`
        /// sections merged, else (for `default`) the `[default]` ones, else
        /// nothing.
        fn expected(sections: &[(Header, Vec<Property>)], name: &str) -> BTreeMap<String, String> {
            let merge = |matches: &dyn Fn(&Header) -> bool| {
                let mut found = false;
                let mut props = BTreeMap::new();
                for (_, properties) in sections.iter().filter(|(h, _)| matches(h)) {
                    found = true;
                    for property in properties {
                        let mut value = property.value.clone();
                        for more in &property.continuation {
                            value.push('\n');
                            value.push_str(more);
                        }
                        props.insert(property.key.to_ascii_lowercase(), value);
                    }
                }
                found.then_some(props)
            };
            merge(&|h| matches!(h, Header::Profile(n) if n == name))
                .or_else(|| {
                    (name == "default")
                        .then(|| merge(&|h| matches!(h, Header::BareDefault)))
                        .flatten()
                })
                .unwrap_or_default()
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn a_rendered_file_parses_back_to_each_profile(sections in file(), layout in layout()) {
                let text = join(&render_lines(&sections, &layout), &layout);
                let mut names: Vec<String> = sections
                    .iter()
                    .filter_map(|(h, _)| match h {
                        Header::Profile(name) | Header::Ignored(name) => Some(name.clone()),
                        Header::BareDefault => None,
                    })
                    .collect();
                names.extend(["default".to_owned(), "missing".to_owned()]);
                for name in names {
                    let parsed = parse(&text, &name);
                    prop_assert_eq!(parsed, Ok(expected(&sections, &name)), "{:?} in {:?}", name, text);
                }
            }

            #[test]
            fn a_malformed_line_is_an_error_naming_it(
                sections in file(),
                layout in layout(),
                at in any::<prop::sample::Index>(),
                bad in 0..8usize,
            ) {
                let mut lines = render_lines(&sections, &layout);
                let anywhere = 1 + at.index(lines.len());
                // The lines inserted, where, and the error: on the last of them.
                let (insert, index, message): (&[&str], _, _) = match bad {
                    0 => (&["[no closing bracket"], anywhere, UNCLOSED_SECTION),
                    1 => (&["no equals sign"], anywhere, PROPERTY_WITHOUT_EQUALS),
                    2 => (&["= no name"], anywhere, PROPERTY_WITHOUT_NAME),
                    3 => (&["key = before any section"], 0, PROPERTY_BEFORE_SECTION),
                    4 => (&["  indented = before any section"], 0, INDENTED_BEFORE_SECTION),
                    5 => (&["  indented = under a header"], 1, INDENTED_WITHOUT_PROPERTY),
                    6 => (&["s3 =", "  no equals sign"], anywhere, SUB_PROPERTY_WITHOUT_EQUALS),
                    _ => (&["s3 = ; empty", "  = no name"], anywhere, SUB_PROPERTY_WITHOUT_NAME),
                };
                for (offset, line) in insert.iter().enumerate() {
                    lines.insert(index + offset, (*line).to_owned());
                }
                let text = join(&lines, &layout);
                let error = ParseError { line: index + insert.len(), message };
                prop_assert_eq!(parse(&text, "default"), Err(error.clone()), "{:?}", text);
                prop_assert_eq!(parse(&text, "missing"), Err(error));
            }

            #[test]
            fn any_text_is_a_profile_or_an_error_whatever_the_name(
                text in "(?s)[\\[\\]=#; \t\r\nA-Za-z\u{feff}é]{0,120}",
                name in profile_name(),
            ) {
                let result = parse(&text, &name);
                // Syntax errors do not depend on which profile is asked for.
                let other = parse(&text, "some-other-name");
                prop_assert_eq!(result.as_ref().err(), other.as_ref().err());
                let all = parse_profiles(&text);
                prop_assert_eq!(
                    result.clone(),
                    all.clone().map(|mut all| all.remove(&name).unwrap_or_default())
                );
                match result {
                    Ok(props) => {
                        for (key, value) in props {
                            prop_assert!(is_identifier(&key), "{:?}", key);
                            prop_assert_eq!(&key, &key.to_ascii_lowercase());
                            prop_assert!(value.trim_matches([' ', '\t']) == value, "{:?}", value);
                        }
                        for name in all.unwrap().keys() {
                            prop_assert!(is_identifier(name), "{:?}", name);
                        }
                    }
                    Err(error) => {
                        prop_assert!(error.line >= 1 && error.line <= text.split('\n').count());
                    }
                }
            }
        }
    }
}
