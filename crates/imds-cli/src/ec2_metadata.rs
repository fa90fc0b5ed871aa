//! `ec2-metadata` mode: the options and the output of amazon-ec2-utils'
//! `ec2-metadata` script, so that scripts written for it work with `imds`
//! installed under that name (`ln -s imds ec2-metadata`) or run as
//! `imds ec2-metadata`.
//!
//! The mode is recognised before the `imds` command line is parsed: its
//! syntax differs (`-h` is `--local-hostname`, `-v` `--public-ipv4`), and
//! output follows the order of the options. The options are the script's,
//! plus imds's global options, long only. What is printed, and how, is in
//! [`print`](mod@print).

mod print;

use std::ffi::OsString;
use std::path::Path;

use clap::{Arg, ArgAction, ArgMatches, Args as _, FromArgMatches as _};

use crate::cli::Global;
use crate::exit::Failure;
use crate::output::write_stdout;
use crate::session::{Options, Session};

pub use self::print::Item;

/// The name the script goes by, and the `imds` command of the same name.
pub const NAME: &str = "ec2-metadata";

/// One of the script's options: what it prints, in the order of its
/// `--all` output.
struct Flag {
    short: char,
    long: &'static str,
    help: &'static str,
    item: Item,
}

const fn value(label: &'static str, path: &'static str) -> Item {
    Item::Value { label, path }
}

/// The script's options (its `print_all` order), with its help texts.
const FLAGS: &[Flag] = &[
    Flag {
        short: 'a',
        long: "ami-id",
        help: "The AMI ID used to launch this instance",
        item: value("ami-id", "meta-data/ami-id"),
    },
    Flag {
        short: 'l',
        long: "ami-launch-index",
        help: "The index of this instance in the reservation (per AMI)",
        item: value("ami-launch-index", "meta-data/ami-launch-index"),
    },
    Flag {
        short: 'm',
        long: "ami-manifest-path",
        help: "The manifest path of the AMI with which the instance was launched",
        item: value("ami-manifest-path", "meta-data/ami-manifest-path"),
    },
    Flag {
        short: 'n',
        long: "ancestor-ami-ids",
        help: "The AMI IDs of any instances that were rebundled to create this AMI",
        item: value("ancestor-ami-ids", "meta-data/ancestor-ami-ids"),
    },
    Flag {
        short: 'b',
        long: "block-device-mapping",
        help: "Defines native device names to use when exposing virtual devices",
        item: Item::BlockDeviceMapping,
    },
    Flag {
        short: 'i',
        long: "instance-id",
        help: "The ID of this instance",
        item: value("instance-id", "meta-data/instance-id"),
    },
    Flag {
        short: 't',
        long: "instance-type",
        help: "The type of this instance",
        item: value("instance-type", "meta-data/instance-type"),
    },
    Flag {
        short: 'h',
        long: "local-hostname",
        help: "The local hostname of the instance",
        item: value("local-hostname", "meta-data/local-hostname"),
    },
    Flag {
        short: 'o',
        long: "local-ipv4",
        help: "The private IPv4 address of the instance",
        item: value("local-ipv4", "meta-data/local-ipv4"),
    },
    Flag {
        short: 'k',
        long: "kernel-id",
        help: "The ID of the kernel launched with this instance, if applicable",
        item: value("kernel-id", "meta-data/kernel-id"),
    },
    Flag {
        short: 'z',
        long: "availability-zone",
        help: "The availability zone in which the instance launched (labelled placement)",
        item: value("placement", "meta-data/placement/availability-zone"),
    },
    Flag {
        short: 'R',
        long: "region",
        help: "The region in which the instance launched",
        item: value("region", "meta-data/placement/region"),
    },
    Flag {
        short: 'P',
        long: "partition",
        help: "The AWS partition name",
        item: value("partition", "meta-data/services/partition"),
    },
    Flag {
        short: 'c',
        long: "product-codes",
        help: "Product codes associated with this instance",
        item: value("product-codes", "meta-data/product-codes"),
    },
    Flag {
        short: 'p',
        long: "public-hostname",
        help: "The public hostname of the instance",
        item: value("public-hostname", "meta-data/public-hostname"),
    },
    Flag {
        short: 'v',
        long: "public-ipv4",
        help: "The public IPv4 address of the instance",
        item: value("public-ipv4", "meta-data/public-ipv4"),
    },
    Flag {
        short: 'u',
        long: "public-keys",
        help: "Public keys, if supplied at launch",
        item: Item::PublicKeys,
    },
    Flag {
        short: 'r',
        long: "ramdisk-id",
        help: "The ID of the RAM disk launched with this instance, if applicable",
        item: value("ramdisk-id", "meta-data/ramdisk-id"),
    },
    Flag {
        short: 'e',
        long: "reservation-id",
        help: "The ID of the reservation",
        item: value("reservation-id", "meta-data/reservation-id"),
    },
    Flag {
        short: 's',
        long: "security-groups",
        help: "Names of the security groups the instance is launched in",
        item: value("security-groups", "meta-data/security-groups"),
    },
    Flag {
        short: 'd',
        long: "user-data",
        help: "User data, byte for byte, if supplied at launch",
        item: value("user-data", "user-data"),
    },
    Flag {
        short: 'g',
        long: "tags",
        help: "Tags assigned to this instance, if tags in metadata are enabled",
        item: Item::Tags,
    },
];

const AFTER_HELP: &str = "\
Prints `label: value` lines in the order of the options, as amazon-ec2-utils'
ec2-metadata does, and `not available` for a value the instance does not
have; with no option (or --all), everything. Unlike ec2-metadata, values
are printed byte for byte (user data keeps its trailing newlines and NUL
bytes; a newline ends a value that has none), --endpoint and
--endpoint-mode ipv6 reach any IMDS endpoint, and the exit status is imds's
(2 usage, 4 IMDS unreachable). See the imds README for every difference.";

/// A parsed `ec2-metadata` command line.
#[derive(Debug)]
pub struct Arguments {
    /// imds's global options.
    pub global: Global,
    /// `--quiet`: values only.
    pub quiet: bool,
    /// What to print, in order.
    pub items: Vec<Item>,
}

/// The arguments of the `ec2-metadata` mode, with the name to show in
/// usage messages, when `argv` asks for it: the program is called
/// `ec2-metadata`, or its first argument is `ec2-metadata`. `None` for
/// any other `imds` command line.
pub fn invoked(argv: &[OsString]) -> Option<(&'static str, Vec<OsString>)> {
    let program = Path::new(argv.first()?).file_name()?;
    if program == NAME {
        return Some((NAME, argv[1..].to_vec()));
    }
    if argv.get(1).is_some_and(|first| first == NAME) {
        return Some(("imds ec2-metadata", argv[2..].to_vec()));
    }
    None
}

/// The mode's command line.
fn command(name: &'static str) -> clap::Command {
    let mut command = clap::Command::new(NAME)
        .bin_name(name)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .after_help(AFTER_HELP)
        .arg(
            Arg::new("all")
                .long("all")
                .help("Show all metadata information for this host (also the default)")
                .action(ArgAction::Append)
                .num_args(0)
                .default_missing_value(""),
        );
    for flag in FLAGS {
        command = command.arg(
            Arg::new(flag.long)
                .short(flag.short)
                .long(flag.long)
                .help(flag.help)
                // Appended, not counted: every occurrence keeps its index,
                // which orders the output.
                .action(ArgAction::Append)
                .num_args(0)
                .default_missing_value(""),
        );
    }
    let command = command
        .arg(
            Arg::new("quiet")
                .long("quiet")
                .help("Print values without their labels")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("path")
                .long("path")
                .value_name("PATH")
                .help("Show the value at PATH (repeatable)")
                .action(ArgAction::Append),
        )
        .arg(
            Arg::new("help")
                .long("help")
                .help("Print help")
                .action(ArgAction::Help),
        );
    // imds's options, but not `-v`: that is --public-ipv4 here. Their
    // struct's doc would be the about text: set after.
    Global::augment_args(command)
        .mut_arg("verbose", |arg| arg.short(None))
        .about("Print instance metadata as amazon-ec2-utils' ec2-metadata does.")
        .long_about(None)
}

impl Arguments {
    /// Parses `args` (without the program name); exits as clap does on a
    /// usage error (2) or `--help` (0).
    pub fn parse(name: &'static str, args: Vec<OsString>) -> Self {
        let argv = std::iter::once(OsString::from(name)).chain(args);
        let matches = command(name).get_matches_from(argv);
        let global = Global::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        Self {
            global,
            quiet: matches.get_flag("quiet"),
            items: items(&matches),
        }
    }
}

/// What `matches` asks for, in command-line order. As in the script,
/// `--all` prints everything and ends the list, and no option at all means
/// `--all`.
fn items(matches: &ArgMatches) -> Vec<Item> {
    let mut ordered: Vec<(usize, Option<Item>)> = Vec::new();
    for flag in FLAGS {
        let indices = matches.indices_of(flag.long).into_iter().flatten();
        ordered.extend(indices.map(|index| (index, Some(flag.item.clone()))));
    }
    if let (Some(indices), Some(paths)) = (
        matches.indices_of("path"),
        matches.get_many::<String>("path"),
    ) {
        ordered.extend(
            indices
                .zip(paths)
                .map(|(index, path)| (index, Some(Item::path(path)))),
        );
    }
    // `None` is --all.
    let all = matches.indices_of("all").into_iter().flatten();
    ordered.extend(all.map(|index| (index, None)));
    ordered.sort_by_key(|(index, _)| *index);
    let mut items = Vec::new();
    for (_, item) in ordered {
        match item {
            Some(item) => items.push(item),
            None => return everything(items),
        }
    }
    if items.is_empty() {
        return everything(items);
    }
    items
}

/// `items` and then every option's, in the order of the script's `--all`.
fn everything(mut items: Vec<Item>) -> Vec<Item> {
    items.extend(FLAGS.iter().map(|flag| flag.item.clone()));
    items
}

/// Runs the mode: reads every value, then prints them all at once, so
/// that a failure prints nothing on stdout.
pub async fn run(arguments: Arguments) -> Result<(), Failure> {
    let options = Options {
        token_cache: true,
        ..Options::default()
    };
    let session = Session::start(&arguments.global, options).await?;
    let output = print::print(&session.client, &arguments.items, arguments.quiet).await?;
    Ok(write_stdout(&output)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Arguments {
        let matches = command(NAME)
            .try_get_matches_from(std::iter::once(NAME).chain(args.iter().copied()))
            .unwrap();
        Arguments {
            global: Global::from_arg_matches(&matches).unwrap(),
            quiet: matches.get_flag("quiet"),
            items: items(&matches),
        }
    }

    fn labels(items: &[Item]) -> Vec<String> {
        items.iter().map(Item::to_string).collect()
    }

    #[test]
    fn the_command_line_is_consistent() {
        command(NAME).debug_assert();
    }

    #[test]
    fn items_follow_the_options_in_order_repeats_included() {
        let arguments = parse(&["-it", "--path", "placement/region", "-zi", "--region"]);
        assert_eq!(
            labels(&arguments.items),
            [
                "instance-id",
                "instance-type",
                "latest/meta-data/placement/region",
                "placement",
                "instance-id",
                "region"
            ]
        );
        assert!(!arguments.quiet);
    }

    #[test]
    fn h_and_v_are_the_scripts_and_imds_options_are_long() {
        let arguments = parse(&["-h", "-v", "--verbose", "--mock", "--quiet"]);
        assert_eq!(labels(&arguments.items), ["local-hostname", "public-ipv4"]);
        assert_eq!(arguments.global.verbose, 1);
        assert!(arguments.global.mock && arguments.quiet);
        let arguments = parse(&["--endpoint", "http://[::1]:1338", "-i"]);
        assert_eq!(
            arguments.global.endpoint.as_deref(),
            Some("http://[::1]:1338")
        );
    }

    #[test]
    fn all_is_the_default_and_ends_the_list() {
        let all = labels(&parse(&[]).items);
        assert_eq!(all.len(), FLAGS.len());
        assert_eq!(
            all[..6],
            [
                "ami-id",
                "ami-launch-index",
                "ami-manifest-path",
                "ancestor-ami-ids",
                "block-device-mapping",
                "instance-id"
            ]
        );
        assert_eq!(all.last().map(String::as_str), Some("tags"));
        assert_eq!(labels(&parse(&["--quiet"]).items), all);
        let before = labels(&parse(&["-i", "--all", "-t"]).items);
        assert_eq!(before[0], "instance-id");
        assert_eq!(before[1..], all[..]);
    }

    #[test]
    fn every_short_option_is_the_scripts() {
        let shorts: String = FLAGS.iter().map(|flag| flag.short).collect();
        // ec2-metadata's getopt string.
        let mut expected: Vec<char> = "almnbithokzPcpvuresdgR".chars().collect();
        let mut ours: Vec<char> = shorts.chars().collect();
        expected.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, expected);
    }

    #[test]
    fn usage_errors_exit_with_2() {
        for args in [&["-x"][..], &["--path"], &["--nope"], &["-V"]] {
            let error = command(NAME)
                .try_get_matches_from(std::iter::once(NAME).chain(args.iter().copied()))
                .unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn the_mode_is_asked_for_by_name_or_first_argument() {
        let argv = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            invoked(&argv(&["/usr/local/bin/ec2-metadata", "-i"])),
            Some((NAME, argv(&["-i"])))
        );
        assert_eq!(
            invoked(&argv(&["imds", "ec2-metadata", "-i"])),
            Some(("imds ec2-metadata", argv(&["-i"])))
        );
        assert_eq!(invoked(&argv(&["imds", "get", "ec2-metadata"])), None);
        assert_eq!(invoked(&argv(&["imds", "--mock", "ec2-metadata"])), None);
        assert_eq!(invoked(&argv(&[])), None);
    }
}
