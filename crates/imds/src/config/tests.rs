use std::ffi::OsString;
use std::path::PathBuf;

use super::*;
use crate::profile::tests::TempDir;

fn env(vars: &[(&str, &str)]) -> Env {
    Env::from_map(vars.iter().copied())
}

fn enabled(overrides: &Overrides, env: &Env) -> Settings {
    match resolve(overrides, env).unwrap() {
        Resolved::Enabled(settings) => settings,
        Resolved::Disabled(source) => panic!("disabled by {source}"),
    }
}

fn uri(text: &str) -> Uri {
    text.parse().unwrap()
}

/// A home directory holding `config`, and an environment pointing at it plus
/// `vars`.
fn home_with(config: &str, vars: &[(&str, &str)]) -> (TempDir, PathBuf, Env) {
    let home = TempDir::new();
    let path = home.write_config(config);
    let mut all: Vec<(String, OsString)> = vec![("HOME".into(), home.path().into())];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.into())));
    (home, path, Env::from_map(all))
}

fn profile_source(path: &std::path::Path, profile: &str, key: &'static str) -> Source {
    Source::Profile {
        path: path.to_owned(),
        profile: profile.into(),
        key,
    }
}

#[test]
fn defaults_with_nothing_configured() {
    let settings = enabled(&Overrides::default(), &env(&[]));
    assert_eq!(
        settings.endpoint,
        Setting::new(
            Endpoint::Single(uri("http://169.254.169.254")),
            Source::Default
        )
    );
    assert_eq!(
        settings.endpoint_mode,
        Setting::new(EndpointMode::Ipv4, Source::Default)
    );
    assert!(settings.endpoint_follows_mode());
    assert_eq!(settings.v1_disabled, Setting::new(false, Source::Default));
    assert_eq!(
        settings.timeout,
        Setting::new(Duration::from_secs(1), Source::Default)
    );
    assert_eq!(settings.attempts, Setting::new(4, Source::Default));
    assert_eq!(settings.role_name, None);
}

#[test]
fn builder_beats_env_beats_profile() {
    let config = "\
[default]
ec2_metadata_service_endpoint = http://profile:1
ec2_metadata_service_endpoint_mode = IPv6
ec2_metadata_v1_disabled = true
metadata_service_timeout = 3
metadata_service_num_attempts = 3
ec2_instance_profile_name = profile-role
";
    let all_env = [
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://env:2/"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "auto"),
        ("AWS_EC2_METADATA_V1_DISABLED", "FALSE"),
        ("AWS_METADATA_SERVICE_TIMEOUT", "2"),
        ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2"),
        ("AWS_EC2_INSTANCE_PROFILE_NAME", "env-role"),
    ];

    // Profile only.
    let (_home, path, profile_env) = home_with(config, &[]);
    let settings = enabled(&Overrides::default(), &profile_env);
    let from = |key| profile_source(&path, "default", key);
    assert_eq!(
        settings.endpoint,
        Setting::new(
            Endpoint::Single(uri("http://profile:1")),
            from("ec2_metadata_service_endpoint")
        )
    );
    assert!(!settings.endpoint_follows_mode());
    assert_eq!(
        settings.endpoint_mode,
        Setting::new(
            EndpointMode::Ipv6,
            from("ec2_metadata_service_endpoint_mode")
        )
    );
    assert_eq!(
        settings.v1_disabled,
        Setting::new(true, from("ec2_metadata_v1_disabled"))
    );
    assert_eq!(
        settings.timeout,
        Setting::new(Duration::from_secs(3), from("metadata_service_timeout"))
    );
    assert_eq!(
        settings.attempts,
        Setting::new(3, from("metadata_service_num_attempts"))
    );
    assert_eq!(
        settings.role_name,
        Some(Setting::new(
            "profile-role".to_owned(),
            from("ec2_instance_profile_name")
        ))
    );

    // Environment over profile.
    let (_home, _path, both) = home_with(config, &all_env);
    let settings = enabled(&Overrides::default(), &both);
    assert_eq!(
        settings.endpoint,
        Setting::new(
            Endpoint::Single(uri("http://env:2")),
            Source::Env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        )
    );
    assert_eq!(
        settings.endpoint_mode,
        Setting::new(
            EndpointMode::Auto,
            Source::Env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        )
    );
    assert_eq!(
        settings.v1_disabled,
        Setting::new(false, Source::Env("AWS_EC2_METADATA_V1_DISABLED"))
    );
    assert_eq!(settings.timeout.value, Duration::from_secs(2));
    assert_eq!(settings.attempts.value, 2);
    assert_eq!(settings.role_name.unwrap().value, "env-role");

    // Builder over both.
    let overrides = Overrides {
        endpoint: Some("http://builder:3".into()),
        endpoint_mode: Some(EndpointMode::Ipv4),
        v1_disabled: Some(true),
        timeout: Some(Duration::from_millis(250)),
        attempts: Some(1),
        role_name: Some("builder-role".into()),
        ..Overrides::default()
    };
    let settings = enabled(&overrides, &both);
    assert_eq!(
        settings.endpoint,
        Setting::new(Endpoint::Single(uri("http://builder:3")), Source::Builder)
    );
    assert!(!settings.endpoint_follows_mode());
    assert_eq!(
        settings.endpoint_mode,
        Setting::new(EndpointMode::Ipv4, Source::Builder)
    );
    assert_eq!(settings.v1_disabled, Setting::new(true, Source::Builder));
    assert_eq!(
        settings.timeout,
        Setting::new(Duration::from_millis(250), Source::Builder)
    );
    assert_eq!(settings.attempts, Setting::new(1, Source::Builder));
    assert_eq!(
        settings.role_name,
        Some(Setting::new("builder-role".to_owned(), Source::Builder))
    );
}

#[test]
fn mode_picks_the_endpoint() {
    let settings = enabled(
        &Overrides::default(),
        &env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]),
    );
    assert_eq!(
        settings.endpoint,
        Setting::new(
            Endpoint::Single(uri("http://[fd00:ec2::254]")),
            Source::Env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        )
    );
    assert!(settings.endpoint_follows_mode());

    let settings = enabled(
        &Overrides {
            endpoint_mode: Some(EndpointMode::Auto),
            ..Overrides::default()
        },
        &env(&[]),
    );
    assert_eq!(
        settings.endpoint,
        Setting::new(
            Endpoint::Race {
                ipv4: uri("http://169.254.169.254"),
                ipv6: uri("http://[fd00:ec2::254]"),
            },
            Source::Builder
        )
    );
    assert!(settings.endpoint_follows_mode());
}

#[test]
fn builder_replaces_the_mode_addresses() {
    let mut overrides = Overrides {
        ipv4_endpoint: Some("http://127.0.0.1:1338/".into()),
        ipv6_endpoint: Some("http://[::1]:1338".into()),
        ..Overrides::default()
    };
    let auto = env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AUTO")]);
    assert_eq!(
        enabled(&overrides, &auto).endpoint.value,
        Endpoint::Race {
            ipv4: uri("http://127.0.0.1:1338"),
            ipv6: uri("http://[::1]:1338"),
        }
    );
    assert_eq!(
        enabled(&overrides, &env(&[])).endpoint.value,
        Endpoint::Single(uri("http://127.0.0.1:1338"))
    );
    overrides.endpoint_mode = Some(EndpointMode::Ipv6);
    assert_eq!(
        enabled(&overrides, &env(&[])).endpoint.value,
        Endpoint::Single(uri("http://[::1]:1338"))
    );
    // An explicit endpoint still wins.
    let explicit = env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://x")]);
    assert_eq!(
        enabled(&overrides, &explicit).endpoint.value,
        Endpoint::Single(uri("http://x"))
    );

    let bad = Overrides {
        ipv6_endpoint: Some("[::1]:1338".into()),
        ..Overrides::default()
    };
    let message = resolve(&bad, &env(&[])).unwrap_err().to_string();
    assert!(
        message.starts_with("invalid IMDS IPv6 endpoint \"[::1]:1338\" from the client builder: "),
        "{message}"
    );
}

#[test]
fn disabled_short_circuits_without_reading_the_profile() {
    // The config file is unreadable as UTF-8: reading it would be an error.
    let home = TempDir::new();
    home.write_config(b"\xff\xff");
    for value in ["true", "TRUE", "True"] {
        let env = Env::from_map([
            ("HOME", OsString::from(home.path())),
            ("AWS_EC2_METADATA_DISABLED", value.into()),
            // Invalid too, but never looked at.
            ("AWS_METADATA_SERVICE_TIMEOUT", "soon".into()),
        ]);
        assert_eq!(
            resolve(&Overrides::default(), &env).unwrap(),
            Resolved::Disabled(Source::Env("AWS_EC2_METADATA_DISABLED"))
        );
    }
    let overrides = Overrides {
        disabled: Some(true),
        ..Overrides::default()
    };
    assert_eq!(
        resolve(&overrides, &env(&[])).unwrap(),
        Resolved::Disabled(Source::Builder)
    );
    // With IMDS enabled the broken file is reported.
    let env = Env::from_map([("HOME", home.path())]);
    assert!(matches!(
        resolve(&Overrides::default(), &env),
        Err(ConfigError::Profile(_))
    ));
}

#[test]
fn disabled_values() {
    let overrides = Overrides::default();
    let settings = resolve(&overrides, &env(&[("AWS_EC2_METADATA_DISABLED", "false")]));
    assert!(matches!(settings, Ok(Resolved::Enabled(_))));
    let settings = resolve(&overrides, &env(&[("AWS_EC2_METADATA_DISABLED", "")]));
    assert!(matches!(settings, Ok(Resolved::Enabled(_))));
    let message = resolve(&overrides, &env(&[("AWS_EC2_METADATA_DISABLED", "yes")]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "invalid IMDS disabled flag \"yes\" from environment variable \
         AWS_EC2_METADATA_DISABLED: expected true or false (case-insensitive)"
    );
    // The builder can force IMDS on.
    let force_on = Overrides {
        disabled: Some(false),
        ..Overrides::default()
    };
    let settings = resolve(&force_on, &env(&[("AWS_EC2_METADATA_DISABLED", "true")]));
    assert!(matches!(settings, Ok(Resolved::Enabled(_))));
    // The profile cannot disable IMDS: the SDKs read this setting from the
    // environment only.
    let (_home, _path, env) = home_with("[default]\nec2_metadata_disabled = true\n", &[]);
    assert!(matches!(
        resolve(&Overrides::default(), &env),
        Ok(Resolved::Enabled(_))
    ));
}

#[test]
fn invalid_values_name_setting_value_and_origin() {
    let cases = [
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "not a uri",
            "invalid IMDS endpoint \"not a uri\" from environment variable \
             AWS_EC2_METADATA_SERVICE_ENDPOINT: not a URI",
        ),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://h/latest/",
            "invalid IMDS endpoint \"http://h/latest/\" from environment variable \
             AWS_EC2_METADATA_SERVICE_ENDPOINT: the URI must not have a path",
        ),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
            "IPv5",
            "invalid IMDS endpoint mode \"IPv5\" from environment variable \
             AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: expected IPv4, IPv6 or auto",
        ),
        (
            "AWS_EC2_METADATA_V1_DISABLED",
            "1",
            "invalid IMDSv1 disabled flag \"1\" from environment variable \
             AWS_EC2_METADATA_V1_DISABLED: expected true or false",
        ),
        (
            "AWS_METADATA_SERVICE_TIMEOUT",
            "0",
            "invalid IMDS timeout \"0\" from environment variable \
             AWS_METADATA_SERVICE_TIMEOUT: the timeout must be longer than zero",
        ),
        (
            "AWS_METADATA_SERVICE_TIMEOUT",
            "1s",
            "invalid IMDS timeout \"1s\" from environment variable \
             AWS_METADATA_SERVICE_TIMEOUT: expected a positive number of seconds",
        ),
        (
            "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
            "0",
            "invalid IMDS attempts \"0\" from environment variable \
             AWS_METADATA_SERVICE_NUM_ATTEMPTS: at least 1 attempt is needed",
        ),
        (
            "AWS_EC2_INSTANCE_PROFILE_NAME",
            "a/b",
            "invalid EC2 instance profile role name \"a/b\" from environment variable \
             AWS_EC2_INSTANCE_PROFILE_NAME: expected an IAM role name",
        ),
    ];
    for (var, value, expected) in cases {
        let error = resolve(&Overrides::default(), &env(&[(var, value)])).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with(expected), "{message}");
        assert_eq!(error.origin(), Some(&Source::Env(var)));
    }
}

#[test]
fn invalid_profile_values_name_file_profile_and_key() {
    let (_home, path, env) = home_with(
        "[profile dev]\nmetadata_service_timeout = soon\n",
        &[("AWS_PROFILE", "dev")],
    );
    let error = resolve(&Overrides::default(), &env).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "invalid IMDS timeout \"soon\" from profile \"dev\" in {} (key \
             metadata_service_timeout): expected a positive number of seconds, such as 1 or 0.5",
            path.display()
        )
    );
    // The same key in another profile is not read.
    let (_home, _path, env) = home_with("[profile dev]\nmetadata_service_timeout = soon\n", &[]);
    assert!(resolve(&Overrides::default(), &env).is_ok());
}

#[test]
fn invalid_builder_values_are_errors() {
    let cases = [
        (
            Overrides {
                endpoint: Some("localhost:1338".into()),
                ..Overrides::default()
            },
            "invalid IMDS endpoint \"localhost:1338\" from the client builder: ",
        ),
        (
            Overrides {
                timeout: Some(Duration::ZERO),
                ..Overrides::default()
            },
            "invalid IMDS timeout \"0ns\" from the client builder: ",
        ),
        (
            Overrides {
                attempts: Some(0),
                ..Overrides::default()
            },
            "invalid IMDS attempts \"0\" from the client builder: ",
        ),
        (
            Overrides {
                role_name: Some("../x".into()),
                ..Overrides::default()
            },
            "invalid EC2 instance profile role name \"../x\" from the client builder: ",
        ),
    ];
    for (overrides, expected) in cases {
        let error = resolve(&overrides, &env(&[])).unwrap_err();
        assert!(error.to_string().starts_with(expected), "{error}");
        assert_eq!(error.origin(), Some(&Source::Builder));
    }
}

#[test]
fn invalid_mode_is_reported_even_beside_an_explicit_endpoint() {
    let env = env(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://x"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "v6"),
    ]);
    assert!(resolve(&Overrides::default(), &env).is_err());
}

#[test]
fn empty_values_count_as_unset() {
    let (_home, path, env) = home_with(
        "[default]\nmetadata_service_num_attempts = 7\nec2_metadata_service_endpoint =\n",
        &[
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "  "),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", ""),
        ],
    );
    let settings = enabled(&Overrides::default(), &env);
    assert_eq!(
        settings.attempts,
        Setting::new(
            7,
            profile_source(&path, "default", "metadata_service_num_attempts")
        )
    );
    assert_eq!(settings.endpoint.source, Source::Default);
}

#[test]
fn values_are_trimmed() {
    let settings = enabled(
        &Overrides::default(),
        &env(&[
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", " 2\n"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", " http://x/ "),
        ]),
    );
    assert_eq!(settings.attempts.value, 2);
    assert_eq!(settings.endpoint.value, Endpoint::Single(uri("http://x")));
}

#[test]
fn profile_selection() {
    let config = "\
[default]
metadata_service_num_attempts = 1
[profile dev]
metadata_service_num_attempts = 2
[profile prod]
metadata_service_num_attempts = 3
";
    let (_home, path, env) = home_with(config, &[]);
    assert_eq!(enabled(&Overrides::default(), &env).attempts.value, 1);

    let (_home, _path, env) = home_with(config, &[("AWS_PROFILE", "dev")]);
    let settings = enabled(&Overrides::default(), &env);
    assert_eq!(settings.attempts.value, 2);

    let overrides = Overrides {
        profile: Some("prod".into()),
        ..Overrides::default()
    };
    let settings = enabled(&overrides, &env);
    assert_eq!(settings.attempts.value, 3);
    assert!(matches!(
        settings.attempts.source,
        Source::Profile { ref profile, .. } if profile == "prod"
    ));

    // AWS_CONFIG_FILE moves the file.
    let env = Env::from_map([
        ("AWS_CONFIG_FILE", path.into_os_string()),
        ("AWS_PROFILE", "dev".into()),
    ]);
    assert_eq!(enabled(&Overrides::default(), &env).attempts.value, 2);
}

#[test]
fn profile_file_errors_are_config_errors() {
    let (_home, path, env) = home_with("[default\n", &[]);
    let error = resolve(&Overrides::default(), &env).unwrap_err();
    assert!(matches!(error, ConfigError::Profile(_)), "{error:?}");
    assert!(
        error.to_string().contains(path.to_str().unwrap()),
        "{error}"
    );
    assert_eq!(error.origin(), None);
}

#[test]
fn app_id_from_builder_env_or_profile() {
    assert_eq!(enabled(&Overrides::default(), &env(&[])).app_id, None);
    let config = "[default]\nsdk_ua_app_id = profile-app\n";
    let (_home, path, only_profile) = home_with(config, &[]);
    let settings = enabled(&Overrides::default(), &only_profile);
    assert_eq!(
        settings.app_id,
        Some(Setting::new(
            "profile-app".to_owned(),
            profile_source(&path, "default", "sdk_ua_app_id")
        ))
    );
    assert!(
        settings.to_string().ends_with(&format!(
            "; app ID profile-app (profile \"default\" in {} (key sdk_ua_app_id))",
            path.display()
        )),
        "{settings}"
    );

    let (_home, _path, both) = home_with(config, &[("AWS_SDK_UA_APP_ID", "env-app")]);
    let settings = enabled(&Overrides::default(), &both);
    assert_eq!(
        settings.app_id,
        Some(Setting::new(
            "env-app".to_owned(),
            Source::Env("AWS_SDK_UA_APP_ID")
        ))
    );

    let overrides = Overrides {
        app_id: Some("builder-app".into()),
        ..Overrides::default()
    };
    let settings = enabled(&overrides, &both);
    assert_eq!(
        settings.app_id,
        Some(Setting::new("builder-app".to_owned(), Source::Builder))
    );

    // Longer than the SDKs recommend: kept (they only warn), not refused.
    let long = "a".repeat(60);
    let settings = enabled(&Overrides::default(), &env(&[("AWS_SDK_UA_APP_ID", &long)]));
    assert_eq!(settings.app_id.unwrap().value, long);

    // Invalid in the profile or the environment, which the SDKs share and
    // never refuse: left out (with a warning), not an error.
    let (_home, _path, bad) = home_with("[default]\nsdk_ua_app_id = my app\n", &[]);
    assert_eq!(enabled(&Overrides::default(), &bad).app_id, None);
    let bad = env(&[("AWS_SDK_UA_APP_ID", "a/b")]);
    assert_eq!(enabled(&Overrides::default(), &bad).app_id, None);
    // In code, an error.
    let overrides = Overrides {
        app_id: Some("my app".into()),
        ..Overrides::default()
    };
    let error = resolve(&overrides, &env(&[])).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid application ID \"my app\" from the client builder: "),
        "{error}"
    );
}
