//! Every setting, from the builder, the environment and the config file,
//! seen in what the client does against imds-mock.

mod support;

use std::time::Duration;

use http::StatusCode;
use imds::config::{DEFAULT_IPV4_ENDPOINT, Source};
use imds::{Client, Env, Error, ImdsV2Layer};
use imds_mock::{MockImds, defaults};
use support::{Slammer, TempDir, builder_for, closed_port, isolated, read_instance_id};

fn env(vars: &[(&str, &str)]) -> Env {
    Env::from_map(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[tokio::test]
async fn endpoint_from_the_environment() {
    let mock = MockImds::start_default().await.unwrap();
    let client = isolated()
        .env(env(&[(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            &mock.base_url(),
        )]))
        .build()
        .unwrap();
    assert_eq!(client.endpoint(), Some(mock.base_url().as_str()));
    assert_eq!(
        client.settings().unwrap().endpoint.source,
        Source::Env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
    );
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
}

#[tokio::test]
async fn endpoint_from_the_profile_selected_by_aws_profile() {
    let mock = MockImds::start_default().await.unwrap();
    let home = TempDir::new("profile");
    home.write_config(&format!(
        "[default]\nec2_metadata_service_endpoint = {}\n\n\
         [profile dev]\nec2_metadata_service_endpoint = {}\n",
        closed_port().await,
        mock.base_url()
    ));
    let home_var = home.path().to_str().unwrap();
    let client = isolated()
        .env(env(&[("HOME", home_var), ("AWS_PROFILE", "dev")]))
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    // The builder's profile wins over AWS_PROFILE.
    let client = isolated()
        .env(env(&[("HOME", home_var), ("AWS_PROFILE", "default")]))
        .profile("dev")
        .build()
        .unwrap();
    assert_eq!(client.endpoint(), Some(mock.base_url().as_str()));
}

#[tokio::test]
async fn aws_config_file_moves_the_config_file() {
    let mock = MockImds::start_default().await.unwrap();
    let dir = TempDir::new("config-file");
    let path = dir.path().join("imds.ini");
    std::fs::write(
        &path,
        format!(
            "[default]\nec2_metadata_service_endpoint = {}\n",
            mock.base_url()
        ),
    )
    .unwrap();
    let client = isolated()
        .env(env(&[("AWS_CONFIG_FILE", path.to_str().unwrap())]))
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
}

#[tokio::test]
async fn the_builder_beats_the_environment() {
    let mock = MockImds::start_default().await.unwrap();
    let client = isolated()
        .env(env(&[(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://127.0.0.1:9",
        )]))
        .endpoint(mock.base_url())
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
}

#[tokio::test]
async fn the_default_endpoint_is_the_ipv4_address() {
    let client = isolated().build().unwrap();
    let expected = DEFAULT_IPV4_ENDPOINT;
    assert_eq!(client.endpoint(), Some(expected));
}

#[tokio::test]
async fn ipv6_mode_from_the_environment_uses_the_ipv6_endpoint() {
    let Some(mock) = support::ipv6_mock().await else {
        return;
    };
    let client = isolated()
        .env(env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv6")]))
        .ipv4_endpoint(closed_port().await)
        .ipv6_endpoint(mock.base_url())
        .build()
        .unwrap();
    assert!(client.endpoint().unwrap().starts_with("http://[::1]:"));
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
}

#[tokio::test]
async fn ipv4_mode_from_the_profile_uses_the_ipv4_endpoint() {
    let mock = MockImds::start_default().await.unwrap();
    let home = TempDir::new("mode");
    home.write_config("[default]\nec2_metadata_service_endpoint_mode = IPv4\n");
    let client = isolated()
        .env(env(&[("HOME", home.path().to_str().unwrap())]))
        .ipv4_endpoint(mock.base_url())
        .ipv6_endpoint("http://[::1]:9")
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
}

#[tokio::test]
async fn disabled_means_no_io_at_all() {
    let slammer = Slammer::start().await;
    for value in ["true", "TRUE", "True"] {
        let client = isolated()
            .env(env(&[
                ("AWS_EC2_METADATA_DISABLED", value),
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "not even checked"),
            ]))
            .endpoint(slammer.url.clone())
            .build()
            .unwrap();
        let error = client.instance_id().await.unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Disabled(Source::Env("AWS_EC2_METADATA_DISABLED"))
            ),
            "{error:?}"
        );
        assert!(matches!(
            client.get("meta-data/").await,
            Err(Error::Disabled(_))
        ));
        assert!(matches!(client.walk("").await, Err(Error::Disabled(_))));
        assert!(matches!(client.tags().await, Err(Error::Disabled(_))));
        assert!(matches!(
            client.credentials_provider().credentials().await,
            Err(Error::Disabled(_))
        ));
        assert!(matches!(client.settings(), Err(Error::Disabled(_))));
        assert_eq!(client.endpoint(), None);
    }
    // From the builder too; and `disabled(false)` beats the environment.
    let client = isolated().disabled(true).build().unwrap();
    assert!(matches!(
        client.region().await,
        Err(Error::Disabled(Source::Builder))
    ));
    assert_eq!(slammer.accepted(), 0);
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock)
        .env(env(&[("AWS_EC2_METADATA_DISABLED", "true")]))
        .disabled(false)
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    // "false" enables.
    let client = builder_for(&mock)
        .env(env(&[("AWS_EC2_METADATA_DISABLED", "false")]))
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
}

/// An instance that allows IMDSv1 and whose token endpoint answers 403 to
/// the next PUT.
async fn v1_only_mock() -> MockImds {
    let mock = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    mock.fail_next(1, StatusCode::FORBIDDEN);
    mock
}

#[tokio::test]
async fn opt_in_fallback_reads_without_a_token() {
    let mock = v1_only_mock().await;
    let client = builder_for(&mock)
        .token_layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    let read = mock
        .requests()
        .into_iter()
        .find(|r| r.path == "/latest/meta-data/instance-id")
        .unwrap();
    assert!(!read.has_token);
}

#[tokio::test]
async fn v1_disabled_wins_over_an_opt_in_fallback() {
    for (vars, source) in [
        (
            vec![("AWS_EC2_METADATA_V1_DISABLED", "true")],
            Source::Env("AWS_EC2_METADATA_V1_DISABLED"),
        ),
        (
            vec![("AWS_EC2_METADATA_V1_DISABLED", "TRUE")],
            Source::Env("AWS_EC2_METADATA_V1_DISABLED"),
        ),
    ] {
        let mock = v1_only_mock().await;
        let client = builder_for(&mock)
            .env(env(&vars))
            .token_layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
            .build()
            .unwrap();
        assert_eq!(client.settings().unwrap().v1_disabled.source, source);
        let error = client.instance_id().await.unwrap_err();
        assert!(
            matches!(&error, Error::Status { status: StatusCode::FORBIDDEN, path }
                if path == "/latest/api/token"),
            "{error:?}"
        );
        assert_eq!(mock.stats().reads, 0, "nothing read without a token");
    }
    // From the profile, and from the builder.
    let home = TempDir::new("v1");
    home.write_config("[default]\nec2_metadata_v1_disabled = true\n");
    let mock = v1_only_mock().await;
    let client = builder_for(&mock)
        .env(env(&[("HOME", home.path().to_str().unwrap())]))
        .token_layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
        .build()
        .unwrap();
    assert!(client.instance_id().await.is_err());
    let mock = v1_only_mock().await;
    let client = builder_for(&mock)
        .imdsv1_disabled(true)
        .token_layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
        .build()
        .unwrap();
    assert!(client.instance_id().await.is_err());
    assert_eq!(mock.stats().reads, 0);
}

#[tokio::test]
async fn timeout_from_the_environment() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock)
        .env(env(&[
            ("AWS_METADATA_SERVICE_TIMEOUT", "0.1"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1"),
        ]))
        .build()
        .unwrap();
    read_instance_id(&client).await.unwrap();
    mock.set_latency(Duration::from_secs(30));
    let error = read_instance_id(&client).await.unwrap_err();
    assert!(
        matches!(&error, Error::Timeout { after, .. } if *after == Duration::from_millis(100)),
        "{error:?}"
    );
}

#[tokio::test]
async fn attempts_from_the_environment_and_the_profile() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock)
        .env(env(&[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2")]))
        .build()
        .unwrap();
    read_instance_id(&client).await.unwrap();
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        read_instance_id(&client).await.is_err(),
        "2 attempts, 2 failures"
    );
    mock.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        read_instance_id(&client).await.is_ok(),
        "the second attempt works"
    );

    let home = TempDir::new("attempts");
    home.write_config("[default]\nmetadata_service_num_attempts = 3\n");
    let client = builder_for(&mock)
        .env(env(&[("HOME", home.path().to_str().unwrap())]))
        .build()
        .unwrap();
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        read_instance_id(&client).await.unwrap(),
        defaults::INSTANCE_ID
    );
    assert_eq!(mock.stats().faults_injected, 5);
}

#[tokio::test]
async fn role_name_from_the_environment_is_used_by_the_credentials_provider() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock)
        .env(env(&[("AWS_EC2_INSTANCE_PROFILE_NAME", "imds-mock-role")]))
        .build()
        .unwrap();
    let credentials = client.credentials_provider().credentials().await.unwrap();
    assert_eq!(credentials.role_name(), Some("imds-mock-role"));
    assert_eq!(
        mock.stats()
            .path_count("/latest/meta-data/iam/security-credentials/"),
        0,
        "no discovery"
    );
    // A configured role that is not the attached one.
    let client = builder_for(&mock)
        .env(env(&[("AWS_EC2_INSTANCE_PROFILE_NAME", "other")]))
        .build()
        .unwrap();
    let error = client
        .credentials_provider()
        .credentials()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NoRole { role: Some(role) } if role == "other"),
        "{error:?}"
    );
    // The builder's role wins; and CredentialsProvider::new sees it too.
    let client = builder_for(&mock)
        .env(env(&[("AWS_EC2_INSTANCE_PROFILE_NAME", "other")]))
        .role_name("imds-mock-role")
        .build()
        .unwrap();
    let credentials = imds::CredentialsProvider::new(client)
        .credentials()
        .await
        .unwrap();
    assert_eq!(credentials.role_name(), Some("imds-mock-role"));
}

#[tokio::test]
async fn an_endpoint_with_a_password_is_refused_without_quoting_it() {
    let home = TempDir::new("userinfo");
    home.write_config("[default]\nec2_metadata_service_endpoint = http://u:s3cret@127.0.0.1:1\n");
    let builders = [
        isolated().endpoint("http://u:s3cret@127.0.0.1:1"),
        isolated().ipv4_endpoint("http://u:s3cret@127.0.0.1:1"),
        isolated().env(env(&[(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://u:s3cret@127.0.0.1:1",
        )])),
        isolated().env(env(&[("HOME", home.path().to_str().unwrap())])),
    ];
    for builder in builders {
        let error = builder.build().unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(matches!(error, Error::Config(_)), "{shown}");
        assert!(shown.contains("\"http://***@127.0.0.1:1\""), "{shown}");
        assert!(shown.contains("user name or password"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}

#[tokio::test]
async fn invalid_values_fail_the_build_naming_setting_and_source() {
    let home = TempDir::new("invalid");
    let config = home.write_config("[default]\nmetadata_service_num_attempts = many\n");
    let cases: Vec<(Env, &str)> = vec![
        (
            env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "not a uri")]),
            "invalid IMDS endpoint \"not a uri\" from environment variable AWS_EC2_METADATA_SERVICE_ENDPOINT",
        ),
        (
            env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5")]),
            "environment variable AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
        ),
        (
            env(&[("AWS_EC2_METADATA_DISABLED", "yes")]),
            "invalid IMDS disabled flag \"yes\"",
        ),
        (
            env(&[("AWS_EC2_METADATA_V1_DISABLED", "1")]),
            "environment variable AWS_EC2_METADATA_V1_DISABLED",
        ),
        (
            env(&[("AWS_METADATA_SERVICE_TIMEOUT", "0")]),
            "invalid IMDS timeout \"0\"",
        ),
        (
            env(&[("HOME", home.path().to_str().unwrap())]),
            "invalid IMDS attempts \"many\" from profile \"default\"",
        ),
        (
            env(&[("AWS_EC2_INSTANCE_PROFILE_NAME", "a/b")]),
            "EC2 instance profile role name",
        ),
    ];
    for (env, expected) in cases {
        let error = isolated().env(env).build().unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(expected), "{message}");
    }
    assert!(config.exists());
    for builder in [
        isolated().endpoint("ftp://x"),
        isolated().ipv6_endpoint("http://[::1]:x"),
        isolated().timeout(Duration::ZERO),
        isolated().attempts(0),
    ] {
        let error = builder.build().unwrap_err();
        assert!(
            error.to_string().contains("from the client builder"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn from_env_reads_the_process_environment() {
    // Only checks that it builds or fails with a config error: the process
    // environment is whatever the machine has, and is never changed here.
    match Client::from_env() {
        Ok(client) => assert!(client.settings().is_ok() || client.endpoint().is_none()),
        Err(error) => assert!(matches!(error, Error::Config(_)), "{error:?}"),
    }
}
