//! The `ec2-metadata` mode, run as the built binary against a mock IMDS.
//!
//! The expected outputs are written from amazon-ec2-utils' `ec2-metadata`
//! script: `print_normal_metric` prints `LABEL: VALUE` (`VALUE` alone with
//! --quiet) or `not available`; `print_block_device_mapping`,
//! `print_public_keys` and `print_tags` print a `LABEL: ` header line (its
//! trailing space included) and then, per entry, `echo -ne '\t' "$i: "`
//! (a tab, a space, `NAME: `), the key's `keyname:`/`index:`/`format:`/
//! `key:(begins from next line)` lines, or `not available`.

mod support;

use std::os::unix::fs::symlink;

use imds_mock::MockImds;
use imds_mock::defaults::*;
use support::{REFUSED, Sandbox};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockMockMockMockMockMockMockMockMockMockMock my-key";

/// An instance with every value the script prints.
async fn full_instance() -> MockImds {
    MockImds::builder()
        .tags_enabled(true)
        .tags([("Name", "web-1"), ("Team", "infra")])
        .user_data("#!/bin/sh\necho hi\n")
        .metadata("meta-data/ancestor-ami-ids", "ami-0a1b2c3d")
        .metadata("meta-data/kernel-id", "aki-919dcaf8")
        .metadata("meta-data/ramdisk-id", "ari-1a2b3c4d")
        .metadata("meta-data/product-codes", "8fnhelf8dfhxzd8yqjk0jdvoa")
        .metadata("meta-data/security-groups", "default\nweb")
        .build()
        .start()
        .await
        .unwrap()
}

/// `imds ec2-metadata --endpoint MOCK ARGS`.
async fn ec2_metadata(sandbox: &Sandbox, mock: &MockImds, args: &[&str]) -> support::Run {
    let endpoint = mock.base_url();
    let mut argv = vec!["ec2-metadata", "--endpoint", &endpoint];
    argv.extend_from_slice(args);
    sandbox.run_raw(&endpoint, &argv, &[]).await
}

/// Each option's output on [`full_instance`], in the script's `--all`
/// order.
fn expected() -> Vec<(&'static str, String)> {
    vec![
        ("-a", format!("ami-id: {AMI_ID}\n")),
        ("-l", "ami-launch-index: 0\n".into()),
        ("-m", "ami-manifest-path: (unknown)\n".into()),
        ("-n", "ancestor-ami-ids: ami-0a1b2c3d\n".into()),
        (
            "-b",
            "block-device-mapping: \n\t ami: /dev/xvda\n\t root: /dev/xvda\n".into(),
        ),
        ("-i", format!("instance-id: {INSTANCE_ID}\n")),
        ("-t", format!("instance-type: {INSTANCE_TYPE}\n")),
        ("-h", format!("local-hostname: {HOSTNAME}\n")),
        ("-o", format!("local-ipv4: {LOCAL_IPV4}\n")),
        ("-k", "kernel-id: aki-919dcaf8\n".into()),
        ("-z", format!("placement: {AVAILABILITY_ZONE}\n")),
        ("-R", format!("region: {REGION}\n")),
        ("-P", "partition: aws\n".into()),
        ("-c", "product-codes: 8fnhelf8dfhxzd8yqjk0jdvoa\n".into()),
        ("-p", format!("public-hostname: {PUBLIC_HOSTNAME}\n")),
        ("-v", format!("public-ipv4: {PUBLIC_IPV4}\n")),
        (
            "-u",
            format!(
                "public-keys: \nkeyname:my-key\nindex:0\nformat:openssh-key\n\
                 key:(begins from next line)\n{KEY}\n"
            ),
        ),
        ("-r", "ramdisk-id: ari-1a2b3c4d\n".into()),
        ("-e", "reservation-id: r-0fedcba9876543210\n".into()),
        ("-s", "security-groups: default\nweb\n".into()),
        ("-d", "user-data: #!/bin/sh\necho hi\n".into()),
        ("-g", "tags: \n\t Name: web-1\n\t Team: infra\n".into()),
    ]
}

#[tokio::test]
async fn every_short_option_prints_what_ec2_metadata_prints() {
    let mock = full_instance().await;
    let sandbox = Sandbox::new();
    let expected = expected();
    assert_eq!(expected.len(), 22, "every option of the script");
    for (option, output) in &expected {
        let run = ec2_metadata(&sandbox, &mock, &[option]).await.ok();
        assert_eq!(run.stdout_text(), *output, "{option}");
    }
    // And the long options are the same.
    for (long, short) in [
        ("--availability-zone", "-z"),
        ("--public-ipv4", "-v"),
        ("--tags", "-g"),
    ] {
        let run = ec2_metadata(&sandbox, &mock, &[long]).await.ok();
        let (_, output) = expected
            .iter()
            .find(|(option, _)| *option == short)
            .unwrap();
        assert_eq!(run.stdout_text(), *output, "{long}");
    }
}

#[tokio::test]
async fn all_is_every_option_in_the_scripts_order_and_the_default() {
    let mock = full_instance().await;
    let sandbox = Sandbox::new();
    let everything: String = expected().into_iter().map(|(_, output)| output).collect();
    let all = ec2_metadata(&sandbox, &mock, &["--all"]).await.ok();
    assert_eq!(all.stdout_text(), everything);
    let default = ec2_metadata(&sandbox, &mock, &[]).await.ok();
    assert_eq!(default.stdout_text(), everything);
    // Options before --all print first; --all ends the list.
    let run = ec2_metadata(&sandbox, &mock, &["-i", "--all", "-t"])
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        format!("instance-id: {INSTANCE_ID}\n{everything}")
    );
}

#[tokio::test]
async fn options_print_in_the_order_given_repeats_and_clusters_included() {
    let mock = full_instance().await;
    let sandbox = Sandbox::new();
    let run = ec2_metadata(&sandbox, &mock, &["-zi", "--region", "-i"])
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        format!(
            "placement: {AVAILABILITY_ZONE}\ninstance-id: {INSTANCE_ID}\nregion: {REGION}\n\
             instance-id: {INSTANCE_ID}\n"
        )
    );
}

#[tokio::test]
async fn quiet_prints_values_only_but_tag_keys_as_the_script_does() {
    let mock = full_instance().await;
    let sandbox = Sandbox::new();
    let run = ec2_metadata(&sandbox, &mock, &["--quiet", "-i", "-z", "-b", "-u", "-g"])
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        format!(
            "{INSTANCE_ID}\n{AVAILABILITY_ZONE}\n/dev/xvda\n/dev/xvda\n{KEY}\n\
             \t Name: web-1\n\t Team: infra\n"
        )
    );
}

#[tokio::test]
async fn a_missing_value_prints_not_available() {
    let mock = MockImds::builder()
        .no_user_data()
        .public_keys::<&str, &str>([])
        .remove("meta-data/block-device-mapping")
        .remove("meta-data/public-ipv4")
        .build()
        .start()
        .await
        .unwrap();
    let sandbox = Sandbox::new();
    for (option, output) in [
        ("-n", "ancestor-ami-ids: not available\n"),
        ("-k", "kernel-id: not available\n"),
        ("-c", "product-codes: not available\n"),
        ("-r", "ramdisk-id: not available\n"),
        ("-v", "public-ipv4: not available\n"),
        ("-d", "user-data: not available\n"),
        ("-b", "block-device-mapping: \nnot available\n"),
        ("-u", "public-keys: \nnot available\n"),
        // Tags in metadata are off.
        ("-g", "tags: \nnot available\n"),
    ] {
        let run = ec2_metadata(&sandbox, &mock, &[option]).await.ok();
        assert_eq!(run.stdout_text(), output, "{option}");
    }
    let run = ec2_metadata(&sandbox, &mock, &["--quiet", "-k", "-g", "-i"])
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        format!("not available\nnot available\n{INSTANCE_ID}\n")
    );
    // An empty value is not available either, as in the script.
    mock.set_metadata("meta-data/kernel-id", "");
    let run = ec2_metadata(&sandbox, &mock, &["-k"]).await.ok();
    assert_eq!(run.stdout_text(), "kernel-id: not available\n");
}

#[tokio::test]
async fn paths_are_labelled_as_the_script_completes_them() {
    let mock = full_instance().await;
    let run = ec2_metadata(
        &Sandbox::new(),
        &mock,
        &[
            "--path",
            "placement/region",
            "-i",
            "--path",
            "/latest/meta-data/mac",
            "--path",
            "meta-data/placement/",
            "--path",
            "nope",
        ],
    )
    .await
    .ok();
    assert_eq!(
        run.stdout_text(),
        format!(
            "latest/meta-data/placement/region: {REGION}\n\
             instance-id: {INSTANCE_ID}\n\
             /latest/meta-data/mac: {MAC}\n\
             latest/meta-data/placement/: availability-zone\navailability-zone-id\nregion\n\
             latest/meta-data/nope: not available\n"
        )
    );
}

#[tokio::test]
async fn user_data_keeps_its_bytes_unlike_the_script() {
    // The script's `$(...)` drops NUL bytes and every trailing newline.
    let mock = MockImds::builder()
        .user_data(b"\x00bin\xff\n\n".to_vec())
        .build()
        .start()
        .await
        .unwrap();
    let sandbox = Sandbox::new();
    let run = ec2_metadata(&sandbox, &mock, &["-d"]).await.ok();
    assert_eq!(run.stdout, b"user-data: \x00bin\xff\n\n");
    // A newline ends a value that has none.
    mock.set_metadata("user-data", "abc");
    let run = ec2_metadata(&sandbox, &mock, &["--quiet", "-d"]).await.ok();
    assert_eq!(run.stdout, b"abc\n");
}

#[tokio::test]
async fn installed_as_ec2_metadata_it_takes_the_scripts_options() {
    let mock = full_instance().await;
    let sandbox = Sandbox::new();
    let link = sandbox.root().join("ec2-metadata");
    symlink(env!("CARGO_BIN_EXE_imds"), &link).unwrap();
    let endpoint = mock.base_url();
    // -h and -v are the script's, not help and verbose.
    let output = sandbox
        .command(&link, &endpoint)
        .args(["-h", "-v", "--endpoint", &endpoint])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("local-hostname: {HOSTNAME}\npublic-ipv4: {PUBLIC_IPV4}\n")
    );
    let output = sandbox
        .command(&link, &endpoint)
        .arg("--help")
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("Usage: ec2-metadata"), "{help}");
    assert!(help.contains("-h, --local-hostname"), "{help}");
    assert!(help.contains("--endpoint <URL>"), "{help}");
}

#[tokio::test]
async fn usage_errors_and_an_unreachable_imds_print_nothing() {
    let mock = full_instance().await;
    let sandbox = Sandbox::new();
    let run = ec2_metadata(&sandbox, &mock, &["-x"]).await;
    assert_eq!((run.code, run.stdout.as_slice()), (2, &b""[..]), "{run:?}");
    assert!(run.stderr.contains("'-x'"), "{run:?}");
    // imds's options go after `ec2-metadata`, where -v means --public-ipv4.
    sandbox
        .run_raw(&mock.base_url(), &["--mock", "ec2-metadata", "-i"], &[])
        .await
        .fails(2);
    let run = sandbox
        .run_raw(REFUSED, &["ec2-metadata", "--endpoint", REFUSED, "-i"], &[])
        .await
        .fails(4);
    assert!(run.stderr.contains("could not reach IMDS"), "{run:?}");
    assert_eq!(mock.stats().reads, 0);
}

#[tokio::test]
async fn the_mock_and_ipv6_endpoints_work_as_for_every_command() {
    let run = Sandbox::new()
        .run_raw(REFUSED, &["ec2-metadata", "--mock", "-i", "-R"], &[])
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        format!("instance-id: {INSTANCE_ID}\nregion: {REGION}\n")
    );
    let Ok(mock) = imds_mock::Config::default()
        .start_on("[::1]:0".parse().unwrap())
        .await
    else {
        support::skip("this machine has no IPv6 loopback");
        return;
    };
    let endpoint = mock.base_url();
    let run = Sandbox::new()
        .run_raw(
            &endpoint,
            &["ec2-metadata", "--endpoint", &endpoint, "-i"],
            &[],
        )
        .await
        .ok();
    assert_eq!(run.stdout_text(), format!("instance-id: {INSTANCE_ID}\n"));
}
