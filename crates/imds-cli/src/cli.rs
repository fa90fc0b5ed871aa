//! The command line: flags, commands and their help.

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgAction, Args as ClapArgs, Parser, Subcommand, ValueEnum};
use imds::config::EndpointMode;

const EXAMPLES: &str = "\
Examples:
  imds --mock dump                      try any command off EC2, on an embedded mock
  imds get meta-data/instance-id
  imds get meta-data/instance-id meta-data/placement/region
  imds get --json meta-data/ami-id meta-data/instance-type
  imds dump meta-data/placement/        a subtree, as JSON
  imds dump -E 'placement/.*'           only the paths that match, fetched concurrently
  imds dump -L                          every path, without fetching values
  imds user-data > user-data.bin        byte for byte
  eval \"$(imds credentials --format env)\"
  TOKEN=$(imds token --ttl 300)
  imds events --watch --until spot && drain-my-node
  imds wait --timeout 60                at boot: until IMDS answers
  eval \"$(imds env)\"                    AWS_REGION, EC2_INSTANCE_ID, ...
  imds exec --credentials -- aws s3 ls  a program with those (and credentials) set
  imds ec2-metadata -i -z               as amazon-ec2-utils' ec2-metadata
  imds identity --verify --max-age 10m  the identity document, verified
  imds verify-identity --document doc --rsa2048 sig   material an instance sent

As the AWS CLI's credential process, in ~/.aws/config:
  [profile instance]
  credential_process = imds credentials --format credential-process

Settings not given as flags come from the environment, then from the
AWS_PROFILE profile of ~/.aws/config (AWS_CONFIG_FILE), as in the AWS SDKs:
  AWS_EC2_METADATA_SERVICE_ENDPOINT       ec2_metadata_service_endpoint
  AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE  ec2_metadata_service_endpoint_mode
  AWS_EC2_METADATA_DISABLED
  AWS_EC2_METADATA_V1_DISABLED            ec2_metadata_v1_disabled
  AWS_METADATA_SERVICE_TIMEOUT            metadata_service_timeout
  AWS_METADATA_SERVICE_NUM_ATTEMPTS       metadata_service_num_attempts
  AWS_EC2_INSTANCE_PROFILE_NAME           ec2_instance_profile_name
  AWS_SDK_UA_APP_ID                       sdk_ua_app_id

Tokens are cached across runs in $XDG_CACHE_HOME/imds/tokens/ (else
~/.cache/imds/tokens/), one private file per endpoint.

Data goes to stdout, diagnostics to stderr; no secret is ever written to
stderr, even with -vv.

Exit status: 0 success, 1 other failure, 2 usage or invalid setting,
3 not found, 4 IMDS disabled or unreachable, 5 identity not verified.";

/// Read the AWS EC2 Instance Metadata Service (IMDSv2).
#[derive(Debug, Parser)]
#[command(name = "imds", version, after_help = EXAMPLES)]
pub struct Args {
    /// Settings for every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, ClapArgs)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Send requests to this endpoint, `http://HOST[:PORT]`, whatever the
    /// endpoint mode.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    /// IMDS address to use: ipv4 (169.254.169.254, the default), ipv6
    /// (`[fd00:ec2::254]`) or auto (race both; tokens are not cached).
    #[arg(long, global = true, value_name = "MODE", value_parser = parse_endpoint_mode)]
    pub endpoint_mode: Option<EndpointMode>,

    /// Lifetime of new session tokens, in seconds (1 to 21600) [default: 21600].
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u32).range(1..=21_600)
    )]
    pub ttl: Option<u32>,

    /// Fall back to IMDSv1 when the endpoint offers no IMDSv2 token (unless
    /// IMDSv1 is disabled by AWS_EC2_METADATA_V1_DISABLED or the profile).
    #[arg(long = "fallback-v1", global = true)]
    pub fallback_v1: bool,

    /// Timeout of each attempt: seconds (`0.5`) or a duration (`500ms`, `2s`)
    /// [default: 1].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Attempts per request, the first included [default: 4].
    #[arg(
        long,
        global = true,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub attempts: Option<u32>,

    /// Read IMDS settings from this profile of ~/.aws/config instead of
    /// AWS_PROFILE's.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Tag every request with `User-Agent: imds/VERSION app/ID`, so that
    /// IMDS audits can tell callers apart (instead of AWS_SDK_UA_APP_ID's).
    #[arg(long, global = true, value_name = "ID")]
    pub app_id: Option<String>,

    /// Neither read nor write the token cache: fetch a new token.
    #[arg(long, global = true)]
    pub no_token_cache: bool,

    /// Run against an embedded mock IMDS on 127.0.0.1, to try every command
    /// off EC2 (the token cache is not used).
    #[arg(long, global = true, conflicts_with_all = ["endpoint", "endpoint_mode"])]
    pub mock: bool,

    /// Log to stderr: -v what is done, -vv in detail. Never secrets.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the values at PATHs: raw bytes for one path, one value per line
    /// for several.
    #[command(after_help = "\
PATHs are relative to /latest/ (meta-data/instance-id) or absolute
(/latest/meta-data/instance-id); a path ending in / lists a directory.
If any path does not exist, nothing is printed and the exit status is 3.")]
    Get {
        /// Paths to read.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
        /// Print one JSON object, path -> value.
        #[arg(long)]
        json: bool,
        /// Write binary data to a terminal all the same.
        #[arg(long)]
        force: bool,
    },

    /// Print the whole tree, or the part under PATH-PREFIX, as JSON.
    #[command(after_help = "\
Directories are objects; JSON documents (identity document, IAM info,
role credentials) are parsed; user-data is left out (see `imds user-data`).
The output includes the role's credentials, secrets and all.

-E and -L read directory listings first, then fetch only the matching
values (-E) or none at all (-L). They match and print paths relative to
/latest/ (meta-data/placement/region); PATH-PREFIX is then a directory.")]
    Dump {
        /// Where to start: a directory ending in / (meta-data/placement/), or
        /// a single value.
        #[arg(
            value_name = "PATH-PREFIX",
            default_value = "",
            hide_default_value = true
        )]
        prefix: String,
        /// Fetch only the paths matching this regular expression (unanchored).
        #[arg(short = 'E', long = "regex", value_name = "REGEX")]
        regex: Option<String>,
        /// List the paths, one per line, without fetching their values.
        #[arg(short = 'L', long)]
        list: bool,
    },

    /// Write the user data to stdout, byte for byte.
    #[command(after_help = "\
Binary user data (gzip, for instance) is not written to a terminal unless
--force is given: redirect it to a file or a pipe.")]
    UserData {
        /// Write binary data to a terminal all the same.
        #[arg(long)]
        force: bool,
    },

    /// Print the instance role's temporary credentials.
    #[command(after_help = "\
With --cache, the credentials are kept in $XDG_CACHE_HOME/imds/credentials/
(else ~/.cache/imds/credentials/), one private (0600) file per endpoint and
role, and later runs print them without asking IMDS until 5 to 10 minutes
before they expire; expired credentials are never printed. For many
processes using `imds credentials --format credential-process --cache` as
their credential_process. Anyone who can read the file can use the
credentials until they expire: leave it off where that matters.")]
    Credentials {
        /// The role, instead of AWS_EC2_INSTANCE_PROFILE_NAME's, the
        /// profile's, or else the one attached to the instance.
        #[arg(long, value_name = "NAME")]
        role: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Keep the credentials in a private file and reuse them in later
        /// runs until their refresh window (5 to 10 minutes before they
        /// expire), so that many runs share one fetch. Off by default: the
        /// secrets then stay on disk until they expire (not with --mock).
        #[arg(long)]
        cache: bool,
    },

    /// Print a new session token (valid for --ttl seconds) for scripts.
    #[command(after_help = "\
The token is fetched for this call and not taken from the token cache, so
it lives --ttl seconds from now:
  TOKEN=$(imds token --ttl 300)
  curl -H \"X-aws-ec2-metadata-token: $TOKEN\" http://169.254.169.254/latest/meta-data/")]
    Token,

    /// Print Spot, rebalance, maintenance and Auto Scaling events, or watch
    /// them change (--watch).
    #[command(after_help = crate::events::HELP)]
    Events(crate::events::EventsArgs),

    /// Wait until IMDS answers, or until every --path exists.
    #[command(after_help = WAIT_HELP)]
    Wait {
        /// Wait until this path exists as well (repeatable), e.g. a network
        /// interface's meta-data/network/interfaces/macs/MAC/local-ipv4s.
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<String>,
    },

    /// Print `export` lines of common values about the instance, and of
    /// PATHs, for `eval "$(imds env)"`.
    #[command(after_help = ENV_HELP)]
    Env {
        /// More values: PATH, named by the rule below, or NAME=PATH.
        #[arg(value_name = "[NAME=]PATH")]
        paths: Vec<String>,
        /// Export the instance role's credentials as well.
        #[arg(long)]
        credentials: bool,
    },

    /// Run CMD with the variables of `imds env` set; its exit status is
    /// imds's.
    #[command(after_help = EXEC_HELP)]
    Exec {
        /// More values, as `imds env`'s PATHs (repeatable).
        #[arg(long = "path", value_name = "[NAME=]PATH")]
        paths: Vec<String>,
        /// Set the instance role's credentials as well.
        #[arg(long)]
        credentials: bool,
        /// The program and its arguments.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<OsString>,
    },

    /// Print metadata as amazon-ec2-utils' ec2-metadata does, with its
    /// options (`imds ec2-metadata --help`).
    #[command(disable_help_flag = true, after_help = EC2_METADATA_HELP)]
    Ec2Metadata {
        /// ec2-metadata's options.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "OPTIONS"
        )]
        args: Vec<OsString>,
    },

    /// Print the instance identity document (byte for byte), one of AWS's
    /// signatures over it, or the document verified against them.
    #[command(after_help = crate::identity::IDENTITY_HELP)]
    Identity(crate::identity::IdentityArgs),

    /// Verify an identity document and its signatures captured elsewhere,
    /// as a server receiving them would.
    #[command(after_help = crate::identity::VERIFY_IDENTITY_HELP)]
    VerifyIdentity(crate::identity::VerifyIdentityArgs),
}

const WAIT_HELP: &str = "\
Polls with backoff (100 ms doubling to 2 s, jittered) until IMDS serves
meta-data/instance-id, or every --path; rides through a refused token and
404s. For this command --timeout is how long to wait in all [default: 60s];
each attempt keeps AWS_METADATA_SERVICE_TIMEOUT's timeout, or 1 s.
Exit status: 0 ready, 4 not ready in time (or IMDS disabled).
  imds wait --timeout 120 --path meta-data/network/interfaces/macs/$MAC/local-ipv4s";

const ENV_HELP: &str = "\
Common values (left out when the instance has none):
  AWS_REGION, AWS_DEFAULT_REGION  the region
  EC2_INSTANCE_ID                 EC2_INSTANCE_TYPE
  EC2_AMI_ID                      EC2_ACCOUNT_ID
  EC2_AVAILABILITY_ZONE           EC2_AVAILABILITY_ZONE_ID
  EC2_LOCAL_IPV4                  the primary private IPv4 address
With --credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.

A PATH is named EC2_ and its part after /latest/ and meta-data/, in upper
case, each run of other characters than letters and digits made one _:
  meta-data/mac -> EC2_MAC,  meta-data/tags/instance/Name -> EC2_TAGS_INSTANCE_NAME
NAME=PATH names it yourself: APP_ENV=meta-data/tags/instance/Environment.
A variable given twice keeps its last value. Values are exact (not
trimmed) and single-quoted; a PATH that does not exist is an error (3).";

const EXEC_HELP: &str = "\
imds replaces itself with CMD (found in PATH), so CMD gets imds's stdin,
stdout, stderr and process ID, and its exit status or signal is the
command's. Exit status 126 or 127 when CMD cannot be run or is not found.
Credentials are a snapshot: CMD does not see them refreshed.
  imds exec -- ./deploy.sh
  imds exec --credentials --path APP_ENV=meta-data/tags/instance/Environment -- ./app";

const EC2_METADATA_HELP: &str = "\
Everything after `ec2-metadata` is ec2-metadata's syntax (-h is
--local-hostname, -v --public-ipv4) and takes imds's options too, long
only (`imds ec2-metadata --mock -i`). Installed as a link named
ec2-metadata, imds runs in this mode: `ln -s imds ec2-metadata`.";

/// How `credentials` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Pretty JSON: RoleName, AccountId (when known), AccessKeyId,
    /// SecretAccessKey, Token, Expiration, LastUpdated.
    Json,
    /// `export` lines for `eval "$(imds credentials --format env)"`.
    Env,
    /// The AWS CLI's `credential_process` JSON (Version 1).
    CredentialProcess,
}

fn parse_endpoint_mode(text: &str) -> Result<EndpointMode, String> {
    text.parse()
        .map_err(|_| "expected ipv4, ipv6 or auto".to_owned())
}

/// Seconds (`1`, `0.5`) or a humantime duration (`500ms`, `2s`); more than
/// zero.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = match text.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).map_err(|error| error.to_string())?,
        Err(_) => humantime::parse_duration(text).map_err(|error| error.to_string())?,
    };
    if duration.is_zero() {
        return Err("the timeout must be longer than zero".to_owned());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn timeouts_in_seconds_or_durations() {
        assert_eq!(parse_timeout("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        for bad in ["0", "0ms", "-1", "NaN", "inf", "1e300", "soon", ""] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn global_flags_go_before_or_after_the_command() {
        let args = Args::try_parse_from(["imds", "token", "--ttl", "300", "--mock"]).unwrap();
        assert_eq!(args.global.ttl, Some(300));
        assert!(args.global.mock);
        let args = Args::try_parse_from(["imds", "--ttl", "5", "get", "a", "b"]).unwrap();
        assert_eq!(args.global.ttl, Some(5));
        assert!(matches!(args.command, Command::Get { paths, .. } if paths == ["a", "b"]));
    }

    #[test]
    fn exec_takes_everything_after_the_command_as_its_arguments() {
        let args = Args::try_parse_from(["imds", "exec", "--credentials", "--", "sh", "-c", "-v"])
            .unwrap();
        let Command::Exec {
            command,
            credentials,
            ..
        } = args.command
        else {
            panic!("{:?}", args.command);
        };
        assert!(credentials);
        assert_eq!(command, ["sh", "-c", "-v"]);
        assert_eq!(args.global.verbose, 0);
        let args = Args::try_parse_from(["imds", "exec", "env", "--mock"]).unwrap();
        assert!(!args.global.mock, "--mock is env's argument");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for argv in [
            &["imds"][..],
            &["imds", "get"],
            &["imds", "token", "--ttl", "0"],
            &["imds", "token", "--ttl", "21601"],
            &["imds", "token", "--attempts", "0"],
            &["imds", "token", "--endpoint-mode", "ipv5"],
            &[
                "imds",
                "token",
                "--mock",
                "--endpoint",
                "http://127.0.0.1:1",
            ],
            &["imds", "credentials", "--format", "yaml"],
            &["imds", "exec"],
            &["imds", "exec", "--credentials"],
        ] {
            let error = Args::try_parse_from(argv).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{argv:?}");
        }
    }
}
