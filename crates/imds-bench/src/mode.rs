//! [`Mode`]: how much work a run does.

/// How much work each scenario does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Small counts: proves the suite runs (CI), seconds even in debug.
    Quick,
    /// The counts the published numbers come from.
    Full,
}

impl Mode {
    /// `quick` or `full`, as printed.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }

    /// `quick` in quick mode, else `full`.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }
}
