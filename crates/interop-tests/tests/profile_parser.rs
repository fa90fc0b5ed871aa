//! The config-file parser of imds (`imds::__internals::parse_profiles`)
//! against the AWS SDKs:
//!
//! - `the_sdks_profile_parser_suite`: every applicable case of the shared
//!   conformance suite, `test-data/profile-parser-tests.json`, read from the
//!   source of the aws-runtime crate that aws-config depends on (located with
//!   `cargo metadata`, never copied here). The cases it cannot run are named,
//!   with the reason, and the list is asserted.
//! - `aws_config_reads_random_files_as_we_do`: random config files, written
//!   the many ways people write them, read by aws-config's own parser
//!   (`aws_config::profile::load`) and by ours: the same profiles and
//!   properties, or the same refusal (line and error).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_types::os_shim_internal::{Env, Fs};
use imds::__internals::{ParseError, parse_profiles};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

type Profiles = BTreeMap<String, BTreeMap<String, String>>;

/// The suite's cases that cannot run against a parser of the config file
/// alone, and why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "Profiles duplicated in multiple files are merged.",
        MERGES_CREDENTIALS,
    ),
    (
        "Default profiles with mixed prefixes merge with credentials",
        MERGES_CREDENTIALS,
    ),
    (
        "Duplicate properties between files uses credentials property.",
        MERGES_CREDENTIALS,
    ),
    (
        "Credentials profiles with prefix are ignored.",
        CREDENTIALS_ONLY,
    ),
    (
        "profile name with extra whitespace in credentials",
        CREDENTIALS_ONLY,
    ),
    (
        "sso-session without the space before the name is a profile",
        CREDENTIALS_ONLY,
    ),
];
const MERGES_CREDENTIALS: &str = "merges the credentials file into the config file's \
     profiles, and imds reads only the config file";
const CREDENTIALS_ONLY: &str = "has only a credentials file, which imds never reads";

/// The cases that run, but of which a part is not checked, and why.
const PARTLY_CHECKED: &[(&str, &str)] = &[
    (
        "Invalid profile names are ignored.",
        "the config file alone: it must define no profile, as the merged \
         result has none; the credentials file is not read",
    ),
    (
        "sso-session with properties",
        "profiles only: imds reads no sso-session sections",
    ),
];

/// Our error messages, and the SDKs' wording of the same error (which the
/// suite's `errorContaining` and aws-config's errors use).
const SDK_WORDING: &[(&str, &str)] = &[
    (
        "section header is missing its closing `]`",
        "Profile definition must end with ']'",
    ),
    (
        "property before any section header",
        "Expected a profile definition",
    ),
    (
        "indented line before any section",
        "Expected a profile definition",
    ),
    (
        "indented line with no property above it",
        "Expected a property definition, found continuation",
    ),
    (
        "expected `key = value`",
        "Expected an '=' sign defining a property",
    ),
    (
        "property has no name before `=`",
        "Property did not have a name",
    ),
    (
        "expected a sub-property `key = value`: indented lines under a property with \
         an empty value (`s3 =`) are sub-properties",
        "Expected an '=' sign defining a sub-property",
    ),
    (
        "sub-property has no name before `=`",
        "Sub-property did not have a name",
    ),
];

/// The SDKs' wording of one of our errors.
fn sdk_wording(error: &ParseError) -> &'static str {
    SDK_WORDING
        .iter()
        .find(|(ours, _)| *ours == error.message)
        .map(|(_, sdk)| *sdk)
        .unwrap_or_else(|| panic!("no SDK wording for our error {:?}", error.message))
}

/// `profile-parser-tests.json` of the aws-runtime crate that aws-config
/// depends on, in cargo's copy of its source.
fn suite_path() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    // The host only: other targets' packages may not be downloaded, and
    // `--offline` keeps the test off the network.
    let host = host_target();
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--filter-platform", &host, "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata failed (run `cargo fetch` if packages are missing):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let interop = package_id(&metadata, |package| {
        package["manifest_path"].as_str() == manifest.to_str()
    });
    let aws_config = dependency(&metadata, &interop, "aws_config");
    let aws_runtime = dependency(&metadata, &aws_config, "aws_runtime");
    let runtime_manifest = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["id"] == aws_runtime.as_str()))
        .and_then(|package| package["manifest_path"].as_str())
        .expect("aws-runtime has a manifest");
    Path::new(runtime_manifest)
        .parent()
        .unwrap()
        .join("test-data/profile-parser-tests.json")
}

/// The host's target triple, from `rustc -vV`.
fn host_target() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).arg("-vV").output().expect("rustc runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// The id of the one package that `matches`.
fn package_id(metadata: &Value, matches: impl Fn(&Value) -> bool) -> String {
    let ids: Vec<_> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|package| matches(package))
        .filter_map(|package| package["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].to_owned()
}

/// The id of `package`'s dependency whose library is `name`.
fn dependency(metadata: &Value, package: &str, name: &str) -> String {
    metadata["resolve"]["nodes"]
        .as_array()
        .expect("a resolved graph")
        .iter()
        .find(|node| node["id"] == package)
        .and_then(|node| node["deps"].as_array())
        .and_then(|deps| deps.iter().find(|dep| dep["name"] == name))
        .and_then(|dep| dep["pkg"].as_str())
        .unwrap_or_else(|| panic!("{package} depends on no {name}"))
        .to_owned()
}

/// A JSON object of objects of strings, as profiles.
fn profiles_from_json(value: &Value) -> Profiles {
    serde_json::from_value(value.clone()).expect("profiles map names to properties")
}

/// How a case of the suite is run.
enum Plan<'a> {
    /// Parse this config file; `note` says what is left unchecked.
    Run {
        config: &'a str,
        note: Option<&'static str>,
    },
    Skip(&'static str),
}

fn plan<'a>(case: &'a Value) -> Plan<'a> {
    let input = &case["input"];
    let output = &case["output"];
    let Some(config) = input["configFile"].as_str() else {
        return Plan::Skip(CREDENTIALS_ONLY);
    };
    let mut note = None;
    if !input["credentialsFile"].is_null() {
        // Merging only adds profiles: when the merged result has none, the
        // config file alone must define none.
        let no_profiles = output["config"]["profiles"]
            .as_object()
            .is_some_and(|profiles| profiles.is_empty());
        if !no_profiles {
            return Plan::Skip(MERGES_CREDENTIALS);
        }
        note = Some(PARTLY_CHECKED[0].1);
    }
    let sso_sessions = output["config"]["sso_sessions"].as_object();
    if sso_sessions.is_some_and(|sessions| !sessions.is_empty()) {
        note = Some(PARTLY_CHECKED[1].1);
    }
    Plan::Run { config, note }
}

/// Checks our parser's reading of `config` against the case's output.
fn check(config: &str, output: &Value) -> Result<(), String> {
    let parsed = parse_profiles(config);
    if let Some(expected) = output.get("config") {
        let expected = profiles_from_json(&expected["profiles"]);
        return match parsed {
            Ok(profiles) if profiles == expected => Ok(()),
            Ok(profiles) => Err(format!("read {profiles:?}, expected {expected:?}")),
            Err(error) => Err(format!("refused ({error}), expected {expected:?}")),
        };
    }
    let expected = output["errorContaining"]
        .as_str()
        .expect("an output is a config or an error");
    match parsed {
        Ok(profiles) => Err(format!("read {profiles:?}, expected an error {expected:?}")),
        Err(error) if sdk_wording(&error).contains(expected) => Ok(()),
        Err(error) => Err(format!("refused ({error}), expected {expected:?}")),
    }
}

#[test]
fn the_sdks_profile_parser_suite() {
    let path = suite_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let suite: Value = serde_json::from_str(&text).expect("the suite is JSON");
    let cases = suite["tests"].as_array().expect("the suite has tests");

    let (mut passed, mut partly, mut skipped, mut failures) = (0, vec![], vec![], vec![]);
    for case in cases {
        let name = case["name"].as_str().expect("a case has a name");
        match plan(case) {
            Plan::Skip(reason) => skipped.push((name, reason)),
            Plan::Run { config, note } => {
                if let Some(note) = note {
                    partly.push((name, note));
                }
                match check(config, &case["output"]) {
                    Ok(()) => passed += 1,
                    Err(failure) => failures.push(format!("{name:?}: {failure}")),
                }
            }
        }
    }

    eprintln!("{} cases in {}", cases.len(), path.display());
    eprintln!(
        "ran {}: {passed} passed, {} failed; skipped {}:",
        passed + failures.len(),
        failures.len(),
        skipped.len()
    );
    for (name, reason) in &skipped {
        eprintln!("  skipped {name:?}: {reason}");
    }
    for (name, note) in &partly {
        eprintln!("  checked {name:?} in part: {note}");
    }
    assert!(failures.is_empty(), "failed:\n{}", failures.join("\n"));
    assert_eq!(skipped, SKIPPED, "the skipped cases changed");
    assert_eq!(partly, PARTLY_CHECKED, "the cases checked in part changed");
    assert_eq!(passed + skipped.len(), cases.len());
}

// ---- aws-config's parser on random files ----
//
// Shapes never generated, where aws-config and we differ on purpose:
// - an indented line starting with `#` or `;`: a comment for us (and
//   botocore), a continuation line for aws-config (an error before any
//   property); the suite has no such case;
// - a byte-order mark: skipped by us, an error for aws-config;
// - one profile under two spellings of its header setting one key
//   (`[profile foo]`, `[ profile foo ]`): aws-config's value is either, at
//   random (it merges in hash-map order); the suite wants the last one, as
//   we do ("Duplicate properties in duplicate profiles use the last one
//   defined.");
// - a profile name of Unicode whitespace only (`[profile \u{a0}]`):
//   aws-config reads a profile named "", though its own identifier rule is
//   `[A-Za-z0-9_\-/.%@:\+]+`; we ignore the section, as for any invalid name.

/// The sections a file may have, each written one way per file (see
/// `Spelling`): `(prefix, name)`. The first [`PROFILES`] are profiles.
const SECTIONS: &[(Option<&str>, &str)] = &[
    (None, "default"),
    (Some("profile"), "default"),
    (Some("profile"), "foo"),
    (Some("profile"), "Foo"),
    (Some("profile"), "a-b.c_d"),
    (Some("profile"), "x:y/z%1@2+3"),
    // Invalid profile names: ignored.
    (Some("profile"), "foo!bar"),
    (Some("profile"), "in valid"),
    (Some("profile"), "é"),
    (Some("profile"), "foo]"),
    // Not profiles of a config file.
    (None, "foo"),
    (None, "profilefoo"),
    (None, "profile"),
    (None, "[default]"),
    (Some("PROFILE"), "foo"),
    (Some("sso-session"), "foo"),
    (Some("services"), "s3"),
];
const PROFILES: usize = 6;

/// One of `valid` mostly, else one of `other`.
fn mostly(
    valid: &'static [&'static str],
    other: &'static [&'static str],
) -> impl Strategy<Value = &'static str> + Clone {
    prop_oneof![
        4 => prop::sample::select(valid),
        1 => prop::sample::select(other),
    ]
}

/// How a section header is written: the whitespace inside its brackets.
/// One spelling per section and file (see above: aws-config merges two
/// spellings of a header in random order).
#[derive(Debug, Clone)]
struct Spelling {
    before: &'static str,
    between: &'static str,
    after: &'static str,
}

/// A property line and the indented lines that continue it.
#[derive(Debug, Clone)]
struct PropertyLines {
    key: &'static str,
    equals: &'static str,
    value: &'static str,
    comment: &'static str,
    /// `(indentation, text, trailing whitespace)`.
    continuation: Vec<(&'static str, &'static str, &'static str)>,
}

#[derive(Debug, Clone)]
enum Line {
    /// `[...]` with a trailing comment: an index into [`SECTIONS`].
    Header(usize, &'static str),
    Property(PropertyLines),
    Blank(&'static str),
    Comment(&'static str),
    /// A line that may be malformed where it is.
    Odd(&'static str),
}

#[derive(Debug, Clone)]
struct ConfigFile {
    spellings: Vec<Spelling>,
    lines: Vec<Line>,
    crlf: bool,
    /// After the last line: nothing, the line ending, or a lone `\r`
    /// (which is no line ending).
    last: &'static str,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    // aws-config trims each part of `[PREFIX NAME]` of Unicode whitespace,
    // so U+00A0 is a pad there, and not a separator.
    let pad = prop::sample::select(&["", " ", "\t", " \t ", "\u{a0}"][..]);
    let between = prop::sample::select(&[" ", "\t", "  ", " \t ", "\u{a0}"][..]);
    (pad.clone(), between, pad).prop_map(|(before, between, after)| Spelling {
        before,
        between,
        after,
    })
}

fn property_lines() -> impl Strategy<Value = PropertyLines> {
    let key = mostly(
        &[
            "region",
            "Region",
            "a",
            "b_c",
            "ec2_metadata_service_endpoint",
            "x-y.z",
            "k@1:2/3+%",
        ],
        // Invalid names: ignored.
        &["in valid", "k!", "é", "\u{a0}a"],
    );
    let equals = prop::sample::select(&["=", " = ", "\t=\t", " =", "= ", "  =   "][..]);
    let value = prop::sample::select(
        &[
            "",
            "",
            "value",
            "v=w",
            "a#b",
            "a;b",
            "http://h/#f",
            "x y",
            "ünï",
            "a\u{a0}b",
            "a\r#b",
            "=",
        ][..],
    );
    // A comment needs whitespace before it, any whitespace; `#c` right
    // after the value is part of it.
    let comment = prop::sample::select(&["", "", " # c", " ;c", "\t#", "\u{a0}#c", "#c", ";"][..]);
    let indentation = prop::sample::select(&[" ", "\t", "  ", " \t"][..]);
    // Never starting with `#` or `;`: an indented comment line is a comment
    // for us (as for botocore) and a continuation for aws-config, and the
    // suite has no case of it.
    let text = mostly(
        &[
            "-continued",
            "more # c",
            "name = value",
            "in valid = x",
            "a =",
            "k=v ; c",
            "x = y #z",
        ],
        // Not sub-properties: an error under an empty value.
        &["invalid", "= value", "x #= y", "x ;= y"],
    );
    let trailing = prop::sample::select(&["", " ", "\t"][..]);
    (
        key,
        equals,
        value,
        comment,
        prop::collection::vec((indentation, text, trailing), 0..3),
    )
        .prop_map(
            |(key, equals, value, comment, continuation)| PropertyLines {
                key,
                equals,
                value,
                comment,
                continuation,
            },
        )
}

fn line() -> impl Strategy<Value = Line> {
    let header = (
        prop_oneof![3 => 0..PROFILES, 1 => PROFILES..SECTIONS.len()],
        prop::sample::select(&["", "", " # c", ";c", "#"][..]),
    );
    prop_oneof![
        3 => header.prop_map(|(section, comment)| Line::Header(section, comment)),
        6 => property_lines().prop_map(Line::Property),
        1 => prop::sample::select(&["", " ", "\t", " \t "][..]).prop_map(Line::Blank),
        1 => prop::sample::select(&["# c", ";c", "#", ";", "#[profile foo]"][..]).prop_map(Line::Comment),
        // Mostly malformed, and an error where they stand.
        1 => prop::sample::select(
            &[
                "[profile foo",
                "[profile foo] x",
                "key : value",
                "= value",
                "just words",
                " -stray continuation",
                "\t= stray",
            ][..]
        ).prop_map(Line::Odd),
    ]
}

fn config_file() -> impl Strategy<Value = ConfigFile> {
    (
        prop::collection::vec(spelling(), SECTIONS.len()),
        (0..PROFILES, prop::collection::vec(line(), 0..16)),
        prop::collection::vec(line(), 0..2),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(&["", "end", "end", "\r"][..]),
    )
        .prop_map(
            |(spellings, (first, mut lines), opening, clean, crlf, last)| {
                // Half the files have no odd line, so that many parse.
                if clean {
                    lines.retain(|line| !matches!(line, Line::Odd(_)));
                    lines.insert(0, Line::Header(first, ""));
                } else {
                    lines.splice(0..0, opening);
                }
                ConfigFile {
                    spellings,
                    lines,
                    crlf,
                    last,
                }
            },
        )
}

impl ConfigFile {
    fn render(&self) -> String {
        let mut lines = Vec::new();
        for line in &self.lines {
            match line {
                Line::Header(section, comment) => {
                    let Spelling {
                        before,
                        between,
                        after,
                    } = &self.spellings[*section];
                    let (prefix, name) = SECTIONS[*section];
                    let inner = match prefix {
                        Some(prefix) => format!("{prefix}{between}{name}"),
                        None => name.to_owned(),
                    };
                    lines.push(format!("[{before}{inner}{after}]{comment}"));
                }
                Line::Property(property) => {
                    let PropertyLines {
                        key,
                        equals,
                        value,
                        comment,
                        continuation,
                    } = property;
                    lines.push(format!("{key}{equals}{value}{comment}"));
                    for (indentation, text, trailing) in continuation {
                        lines.push(format!("{indentation}{text}{trailing}"));
                    }
                }
                Line::Blank(text) | Line::Comment(text) | Line::Odd(text) => {
                    lines.push((*text).to_owned());
                }
            }
        }
        let end = if self.crlf { "\r\n" } else { "\n" };
        let mut text = lines.join(end);
        text.push_str(if self.last == "end" { end } else { self.last });
        text
    }

    /// Every property key the file writes, lower-cased: the keys either
    /// parser can return.
    fn keys(&self) -> BTreeSet<String> {
        self.lines
            .iter()
            .filter_map(|line| match line {
                Line::Property(property) => Some(property.key.to_ascii_lowercase()),
                _ => None,
            })
            .collect()
    }
}

/// What a parser made of a file: its profiles, or the line and the error
/// (in the SDKs' wording) it refused it for.
type Reading = Result<Profiles, (usize, String)>;

/// aws-config's reading of `text` as the config file, with no credentials
/// file, for the properties in `keys`.
fn aws_config_reading(
    runtime: &tokio::runtime::Runtime,
    text: &str,
    keys: &BTreeSet<String>,
) -> Reading {
    let fs = Fs::from_slice(&[("/aws/config", text)]);
    let env = Env::from_slice(&[
        ("AWS_CONFIG_FILE", "/aws/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/aws/none"),
    ]);
    let loaded = runtime.block_on(aws_config::profile::load(
        &fs,
        &env,
        &Default::default(),
        None,
    ));
    match loaded {
        Ok(set) => Ok(set
            .profiles()
            .map(|name| {
                let profile = set.get_profile(name).expect("a listed profile");
                let properties = keys
                    .iter()
                    .filter_map(|key| Some((key.clone(), profile.get(key)?.to_owned())))
                    .collect();
                (name.to_owned(), properties)
            })
            .collect()),
        Err(error) => {
            // "could not parse profile file", caused by "error parsing PATH
            // on line N:\n  MESSAGE".
            let cause = std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_else(|| panic!("aws-config refused the file: {error}"));
            let (line, message) = cause
                .rsplit_once(" on line ")
                .and_then(|(_, rest)| rest.split_once(":\n  "))
                .unwrap_or_else(|| panic!("unexpected aws-config error {cause:?}"));
            Err((line.parse().expect("a line number"), message.to_owned()))
        }
    }
}

fn our_reading(text: &str) -> Reading {
    parse_profiles(text).map_err(|error| (error.line, sdk_wording(&error).to_owned()))
}

#[test]
fn aws_config_reads_random_files_as_we_do() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut config = Config {
        // No `proptest-regressions/` files: a failure is turned into a
        // unit test by hand.
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 2048;
    }
    let cases = config.cases;
    let (read, refused, properties) = (Cell::new(0u32), Cell::new(0u32), Cell::new(0usize));
    let mut runner = TestRunner::new(config);
    let result = runner.run(&config_file(), |file| {
        let text = file.render();
        let theirs = aws_config_reading(&runtime, &text, &file.keys());
        let ours = our_reading(&text);
        prop_assert_eq!(&ours, &theirs, "{:?}", text);
        let count = if ours.is_ok() { &read } else { &refused };
        count.set(count.get() + 1);
        let read_properties = ours.iter().flatten().map(|(_, p)| p.len()).sum::<usize>();
        properties.set(properties.get() + read_properties);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let (read, refused, properties) = (read.get(), refused.get(), properties.get());
    eprintln!(
        "{cases} random files: {read} read alike ({properties} properties), \
         {refused} refused alike"
    );
    // Both outcomes are exercised, each in a good share of the files.
    assert!(
        read >= cases / 4 && refused >= cases / 8,
        "{read} read, {refused} refused"
    );
    assert!(
        properties >= read as usize,
        "{properties} properties in {read} files"
    );
}
