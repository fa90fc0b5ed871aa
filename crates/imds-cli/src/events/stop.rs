//! Stopping a watch that runs `--exec`. The command runs in a process
//! group of its own (so that a timeout can kill all it started), which
//! also keeps a terminal's Ctrl-C from reaching it: so the watch listens
//! for SIGINT, SIGTERM and SIGHUP itself, kills the command in progress
//! with its group, and exits as a shell reports a signal (128 + its
//! number).

use std::io;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signals that stop the watch, listened to from [`Stop::listen`] on.
pub struct Stop {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

/// The signal that stopped the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub name: &'static str,
    /// 128 + the signal's number.
    pub code: u8,
}

impl Stop {
    /// Takes the three signals over from their default (which ends the
    /// process at once, leaving the command running).
    pub fn listen() -> io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of the signals to arrive. Cancel-safe.
    pub async fn received(&mut self) -> Stopped {
        let stopped = |name, number: u8| Stopped {
            name,
            code: 128 + number,
        };
        tokio::select! {
            _ = self.interrupt.recv() => stopped("SIGINT", 2),
            _ = self.terminate.recv() => stopped("SIGTERM", 15),
            _ = self.hangup.recv() => stopped("SIGHUP", 1),
        }
    }
}
