//! The shared AWS config file (`~/.aws/config`): finding it, parsing it, and
//! reading the selected profile.
//!
//! Only the config file is read, never the credentials file: every IMDS
//! setting lives in the config file.
//!
//! - **Location**: `AWS_CONFIG_FILE` (a leading `~` is expanded), else
//!   `~/.aws/config` with the home directory from [`Env::home_dir`]. A missing
//!   file is not an error: it just holds no settings.
//! - **Profile**: `AWS_PROFILE`, else `default`.
//! - **Sections**: `[default]` and `[profile NAME]`. As in every AWS SDK, a
//!   bare `[NAME]` other than `default` is ignored in the config file (that
//!   form belongs to the credentials file), and so are other section kinds
//!   such as `[sso-session x]` or `[services x]`. When both `[default]` and
//!   `[profile default]` exist, `[profile default]` wins. Repeated sections
//!   merge; a repeated key keeps its last value.
//! - **Properties**: `key = value`, whitespace around both trimmed. Keys are
//!   case-insensitive: they are lower-cased, as aws-config and botocore do,
//!   so `EC2_Metadata_Service_Endpoint` works. Values are kept as written.
//!   Profile names are case-sensitive.
//! - **Comments**: lines starting with `#` or `;` (after optional
//!   indentation); in a property line, a `#` or `;` preceded by whitespace
//!   starts a comment (`key = a#b` keeps `a#b`); in a section line, `#` or `;`
//!   anywhere starts one.
//! - **Continuation lines**: an indented line continues the property above it
//!   (its text is appended to the value after a newline, as aws-config does).
//!   This is how nested sub-properties (`s3 =` followed by indented
//!   `key = value` lines) are carried; no IMDS setting uses them.
//! - **Line endings**: `\n` or `\r\n`; a UTF-8 byte-order mark is skipped.
//!
//! Malformed lines (a section without its closing `]`, a property with no
//! `=` or no name, a property before any section, an indented line with no
//! property above it) are errors naming the file and line, as in the SDKs: a
//! half-understood config file is worse than a clear error. The parser never
//! panics.
//!
//! ```
//! use imds::profile;
//!
//! let text = "\
//! [default]
//! region = eu-west-1
//!
//! [profile dev]
//! EC2_Metadata_Service_Endpoint = http://127.0.0.1:1338 ; local mock
//! ";
//! let dev = profile::parse(text, "dev").unwrap();
//! assert_eq!(
//!     dev.get("ec2_metadata_service_endpoint").map(String::as_str),
//!     Some("http://127.0.0.1:1338"),
//! );
//! assert!(profile::parse(text, "missing").unwrap().is_empty());
//! ```

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
pub fn parse(text: &str, name: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // `[profile NAME]` sections, and `[default]` ones when NAME is default:
    // the former win when both exist.
    let mut prefixed = None::<BTreeMap<String, String>>;
    let mut bare_default = None::<BTreeMap<String, String>>;
    // The section being read (`None` before the first one) and the key of
    // the property that indented lines continue.
    let mut section: Option<Section> = None;
    let mut last_key: Option<String> = None;

    for (index, line) in text.split('\n').enumerate() {
        let error = |message| ParseError {
            line: index + 1,
            message,
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_matches(WHITESPACE);
        if trimmed.is_empty() || trimmed.starts_with(COMMENT) {
            continue;
        }

        if line.starts_with(WHITESPACE) {
            let Some(section) = &section else {
                return Err(error("indented line before any section"));
            };
            let Some(key) = &last_key else {
                return Err(error("indented line with no property above it"));
            };
            let target = section.selected(name, &mut prefixed, &mut bare_default);
            if let Some(value) = target.and_then(|props| props.get_mut(key)) {
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
                .ok_or_else(|| error("section header is missing its closing `]`"))?;
            let parsed = Section::parse(inner);
            // Open the selected profile's map, so that a section with no
            // properties still counts as present.
            match &parsed {
                Section::Profile(profile) if profile == name => {
                    prefixed.get_or_insert_default();
                }
                Section::BareDefault if name == DEFAULT_PROFILE => {
                    bare_default.get_or_insert_default();
                }
                _ => {}
            }
            section = Some(parsed);
            last_key = None;
            continue;
        }

        let Some(current) = &section else {
            return Err(error("property before any section header"));
        };
        let (key, value) = strip_comment(line, true)
            .split_once('=')
            .ok_or_else(|| error("expected `key = value`"))?;
        let key = key.trim_matches(WHITESPACE).to_ascii_lowercase();
        if key.is_empty() {
            return Err(error("property has no name before `=`"));
        }
        let value = value.trim_matches(WHITESPACE).to_owned();
        if let Some(props) = current.selected(name, &mut prefixed, &mut bare_default) {
            props.insert(key.clone(), value);
        }
        last_key = Some(key);
    }

    Ok(prefixed.or(bare_default).unwrap_or_default())
}

/// The kind of a section header, from the text between its brackets.
enum Section {
    /// `[default]`.
    BareDefault,
    /// `[profile NAME]`.
    Profile(String),
    /// Anything else: bare `[NAME]`, `[sso-session x]`, `[services x]`, ...
    Ignored,
}

impl Section {
    /// The map this section's properties go to when profile `name` is the
    /// selected one; `None` when the section is not part of that profile.
    fn selected<'m>(
        &self,
        name: &str,
        prefixed: &'m mut Option<BTreeMap<String, String>>,
        bare_default: &'m mut Option<BTreeMap<String, String>>,
    ) -> Option<&'m mut BTreeMap<String, String>> {
        match self {
            Self::Profile(profile) if profile == name => prefixed.as_mut(),
            Self::BareDefault if name == DEFAULT_PROFILE => bare_default.as_mut(),
            _ => None,
        }
    }

    fn parse(inner: &str) -> Self {
        let inner = inner.trim_matches(WHITESPACE);
        if inner == DEFAULT_PROFILE {
            return Self::BareDefault;
        }
        match inner.strip_prefix("profile") {
            Some(rest) if rest.starts_with(WHITESPACE) => {
                let name = rest.trim_matches(WHITESPACE);
                if name.is_empty() || name.contains(WHITESPACE) {
                    Self::Ignored
                } else {
                    Self::Profile(name.to_owned())
                }
            }
            _ => Self::Ignored,
        }
    }
}

/// Cuts a trailing comment off `line` and trims it. In property lines
/// (`need_whitespace`), a comment character only starts a comment when
/// whitespace precedes it, so values like `a#b` survive.
fn strip_comment(line: &str, need_whitespace: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut previous_is_space = false;
    let mut end = line.len();
    for (index, c) in line.char_indices() {
        if COMMENT.contains(&c) && (previous_is_space || !need_whitespace) {
            end = index;
            break;
        }
        previous_is_space = WHITESPACE.contains(&c);
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

    /// A directory under the system temp dir, removed on drop. Tests point
    /// `HOME` or `AWS_CONFIG_FILE` at it through an [`Env`] map.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new() -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "imds-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }

        /// Writes `~/.aws/config` under this directory used as a home.
        pub(crate) fn write_config(&self, contents: impl AsRef<[u8]>) -> PathBuf {
            let aws = self.0.join(".aws");
            std::fs::create_dir_all(&aws).unwrap();
            let path = aws.join("config");
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
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
}
