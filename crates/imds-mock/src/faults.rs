//! Injectable faults: latency, replaced statuses, dropped connections,
//! stalls, faults of token PUTs alone, unanswered token PUTs and
//! redirects. All are set at runtime through the handle and decided per
//! request, in this order: drop, stall, token PUT fault, unanswered token
//! PUT, redirect, `fail_next`, `fail_fraction`.

use std::sync::Mutex;
use std::time::Duration;

use http::StatusCode;

use crate::random::Rng;
use crate::sync::lock;
use crate::token_fault::{TokenPutFault, TokenReply};

/// What to do with one request instead of (or before) answering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Close the connection without a response.
    Drop,
    /// Never answer (until the client gives up or the server stops).
    Hang,
    /// 307 to this location.
    Redirect(String),
    /// 200 to a token PUT, with this body and TTL header instead of a token.
    TokenReply(TokenReply),
    /// Answer with this status instead.
    Fail(StatusCode),
}

#[derive(Debug)]
struct FailFraction {
    fraction: f64,
    status: StatusCode,
    /// Seeded: the same requests fail on every run.
    rng: Rng,
}

#[derive(Debug, Default)]
struct FaultState {
    latency: Duration,
    drop_next: u64,
    stall_next: u64,
    token_put_unanswered: bool,
    redirect_next: u64,
    redirect_location: String,
    token_put_fault_next: u64,
    token_put_fault: Option<TokenPutFault>,
    fail_next: u64,
    fail_status: Option<StatusCode>,
    fail_fraction: Option<FailFraction>,
}

/// The fault settings of one server.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    state: Mutex<FaultState>,
}

impl Faults {
    pub(crate) fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    pub(crate) fn fail_next(&self, n: u64, status: StatusCode) {
        let mut state = lock(&self.state);
        state.fail_next = n;
        state.fail_status = Some(status);
    }

    /// `fraction` is clamped to `0..=1` (NaN counts as 0).
    pub(crate) fn fail_fraction(&self, fraction: f64, status: StatusCode, seed: u64) {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        lock(&self.state).fail_fraction = Some(FailFraction {
            fraction,
            status,
            rng: Rng::seeded(seed),
        });
    }

    pub(crate) fn drop_next(&self, n: u64) {
        lock(&self.state).drop_next = n;
    }

    pub(crate) fn stall_next(&self, n: u64) {
        lock(&self.state).stall_next = n;
    }

    pub(crate) fn fault_next_token_puts(&self, n: u64, fault: TokenPutFault) {
        let mut state = lock(&self.state);
        state.token_put_fault_next = n;
        state.token_put_fault = Some(fault);
    }

    pub(crate) fn set_token_put_unanswered(&self, unanswered: bool) {
        lock(&self.state).token_put_unanswered = unanswered;
    }

    pub(crate) fn redirect_next(&self, n: u64, location: String) {
        let mut state = lock(&self.state);
        state.redirect_next = n;
        state.redirect_location = location;
    }

    pub(crate) fn clear(&self) {
        *lock(&self.state) = FaultState::default();
    }

    /// The latency to apply and the fault, if any, for the next request.
    pub(crate) fn decide(&self, is_token_put: bool) -> (Duration, Option<Fault>) {
        let mut state = lock(&self.state);
        let latency = state.latency;
        let fault = if state.drop_next > 0 {
            state.drop_next -= 1;
            Some(Fault::Drop)
        } else if state.stall_next > 0 {
            state.stall_next -= 1;
            Some(Fault::Hang)
        } else if let (true, 1.., Some(fault)) = (
            is_token_put,
            state.token_put_fault_next,
            &state.token_put_fault,
        ) {
            let fault = match fault {
                TokenPutFault::Drop => Fault::Drop,
                TokenPutFault::Stall => Fault::Hang,
                TokenPutFault::Status(status) => Fault::Fail(*status),
                TokenPutFault::Reply(reply) => Fault::TokenReply(reply.clone()),
            };
            state.token_put_fault_next -= 1;
            Some(fault)
        } else if is_token_put && state.token_put_unanswered {
            Some(Fault::Hang)
        } else if state.redirect_next > 0 {
            state.redirect_next -= 1;
            Some(Fault::Redirect(state.redirect_location.clone()))
        } else if let (1.., Some(status)) = (state.fail_next, state.fail_status) {
            state.fail_next -= 1;
            Some(Fault::Fail(status))
        } else if let Some(ff) = &mut state.fail_fraction {
            (ff.rng.next_f64() < ff.fraction).then_some(Fault::Fail(ff.status))
        } else {
            None
        };
        (latency, fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(faults: &Faults, n: usize) -> Vec<bool> {
        (0..n).map(|_| faults.decide(false).1.is_some()).collect()
    }

    #[test]
    fn fail_fraction_is_reproducible_and_roughly_right() {
        let faults = Faults::default();
        faults.fail_fraction(0.3, StatusCode::INTERNAL_SERVER_ERROR, 7);
        let first = pattern(&faults, 1000);
        faults.fail_fraction(0.3, StatusCode::INTERNAL_SERVER_ERROR, 7);
        assert_eq!(pattern(&faults, 1000), first);
        let failed = first.iter().filter(|&&f| f).count();
        assert!((250..350).contains(&failed), "{failed}");
        faults.fail_fraction(0.0, StatusCode::INTERNAL_SERVER_ERROR, 7);
        assert!(pattern(&faults, 100).iter().all(|f| !f));
        faults.fail_fraction(1.0, StatusCode::INTERNAL_SERVER_ERROR, 7);
        assert!(pattern(&faults, 100).iter().all(|f| *f));
    }

    #[test]
    fn counted_faults_run_out_in_priority_order() {
        let faults = Faults::default();
        faults.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
        faults.drop_next(1);
        faults.redirect_next(1, "http://127.0.0.1:1/".into());
        faults.set_token_put_unanswered(true);
        faults.stall_next(1);
        faults.fault_next_token_puts(1, TokenPutFault::Reply(TokenReply::new("t")));
        assert_eq!(faults.decide(false).1, Some(Fault::Drop));
        assert_eq!(faults.decide(false).1, Some(Fault::Hang), "stall");
        assert!(matches!(faults.decide(true).1, Some(Fault::TokenReply(_))));
        assert_eq!(faults.decide(true).1, Some(Fault::Hang));
        assert!(matches!(faults.decide(false).1, Some(Fault::Redirect(_))));
        assert_eq!(
            faults.decide(false).1,
            Some(Fault::Fail(StatusCode::SERVICE_UNAVAILABLE))
        );
        assert_eq!(faults.decide(false).1, None);
        assert_eq!(faults.decide(true).1, Some(Fault::Hang));
        faults.set_token_put_unanswered(false);
        assert_eq!(faults.decide(true).1, None);
    }

    #[test]
    fn token_put_faults_leave_reads_alone() {
        let faults = Faults::default();
        faults.fault_next_token_puts(2, TokenPutFault::Drop);
        assert_eq!(faults.decide(false).1, None);
        assert_eq!(faults.decide(true).1, Some(Fault::Drop));
        faults.fault_next_token_puts(1, TokenPutFault::Stall);
        assert_eq!(faults.decide(true).1, Some(Fault::Hang));
        faults.fault_next_token_puts(1, TokenPutFault::Status(StatusCode::BAD_GATEWAY));
        assert_eq!(faults.decide(false).1, None);
        assert_eq!(
            faults.decide(true).1,
            Some(Fault::Fail(StatusCode::BAD_GATEWAY))
        );
        assert_eq!(faults.decide(true).1, None);
    }
}
