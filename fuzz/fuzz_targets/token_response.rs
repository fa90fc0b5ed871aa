//! The answer to the token `PUT`, through `ImdsV2Layer` over an in-process
//! service that plays IMDS: whatever the status, TTL header and body, the
//! layer succeeds exactly when they make a valid token response, and
//! otherwise fails with the `tower_imds::Error` that says why. The rules
//! and the check are `crates/tower-imds/tests/support/token_oracle.rs`,
//! shared with that crate's property tests.
//!
//! Input: a status line, header lines and a body, HTTP-like:
//!
//! ```text
//! 200
//! x-aws-ec2-metadata-token-ttl-seconds: 21600
//!
//! AQAEAKnFwz5Dqk5LwU6ZBwZmS0vKbQ==
//! ```
//!
//! Each input runs twice, without and with `fallback_to_imdsv1`. Bodies
//! longer than `MetadataToken::MAX_LEN` need `-max_len` above 4096.

#![no_main]
#![forbid(unsafe_code)]

#[path = "../../crates/tower-imds/tests/support/token_oracle.rs"]
mod token_oracle;

use libfuzzer_sys::fuzz_target;

use token_oracle::{TokenAnswer, check};

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let Some(answer) = TokenAnswer::parse(data) else {
        return;
    };
    RUNTIME.with(|runtime| {
        check(runtime, &answer, false);
        check(runtime, &answer, true);
    });
});
