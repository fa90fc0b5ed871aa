//! All of the mock's randomness, from one small generator: [`Rng`], a
//! counter run through a mixing function, in one of two modes.
//!
//! - Seeded ([`Rng::seeded`]): SplitMix64, a fixed public mix of the
//!   counter and the seed, so `fail_fraction(.., seed)` fails the same
//!   requests on every run and every platform.
//! - Unguessable ([`Rng::unguessable`], behind [`bytes()`] and
//!   [`upper_alphanumeric`]): keyed SipHash of the counter, the key being a
//!   fresh `std::collections::hash_map::RandomState` (128 bits that std
//!   draws from the operating system). SipHash is a keyed pseudo-random
//!   function: without the key, earlier tokens and credentials say nothing
//!   about the next ones, so they are unguessable in practice, which is all
//!   a test server needs. (Not a vetted CSPRNG: std does not promise which
//!   keyed hash `RandomState` uses, only that it resists HashDoS.)
//!
//! The client's jitter comes from tower's `HasherRng`, which is
//! `RandomState`-based too: the workspace has one source of randomness,
//! while the mock still shares no code with the client it checks.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A counter and the function that mixes it into an output.
#[derive(Debug)]
pub(crate) struct Rng {
    counter: u64,
    mix: Mix,
}

#[derive(Debug)]
enum Mix {
    /// SplitMix64 from this seed: reproducible.
    Seeded(u64),
    /// SipHash under these secret keys (`RandomState`'s `Debug` shows none).
    Keyed(RandomState),
}

impl Rng {
    /// The SplitMix64 sequence of `seed`: the same numbers on every run.
    pub(crate) fn seeded(seed: u64) -> Self {
        Self {
            counter: 0,
            mix: Mix::Seeded(seed),
        }
    }

    /// Numbers that cannot be predicted without the keys, which are fresh
    /// from std's `RandomState`.
    pub(crate) fn unguessable() -> Self {
        Self {
            counter: 0,
            mix: Mix::Keyed(RandomState::new()),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        match &self.mix {
            Mix::Seeded(seed) => splitmix64(seed.wrapping_add(self.counter.wrapping_mul(GAMMA))),
            Mix::Keyed(keys) => keys.hash_one(self.counter),
        }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Fills `buf` with the next numbers, eight bytes each.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// SplitMix64's output function (Steele, Lea and Flood, 2014).
fn splitmix64(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

thread_local! {
    /// One per thread, so drawing takes no lock; each thread's keys are
    /// its own.
    static UNGUESSABLE: RefCell<Rng> = RefCell::new(Rng::unguessable());
}

/// `N` unguessable bytes.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    UNGUESSABLE.with_borrow_mut(|rng| rng.fill(&mut buf));
    buf
}

/// `len` unguessable characters from `[A-Z0-9]`, uniformly (rejection
/// sampling).
pub(crate) fn upper_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in bytes::<32>() {
            // 252 = 7 * 36: values above would bias the first characters.
            if b < 252 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b % 36)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_splitmix64() {
        // The reference sequence of seed 0, and of the seed 42 from
        // before the generators were merged: the same faults as then.
        let mut zero = Rng::seeded(0);
        let mut forty_two = Rng::seeded(42);
        assert_eq!(
            [zero.next_u64(), zero.next_u64(), zero.next_u64()],
            [0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f]
        );
        assert_eq!(
            [forty_two.next_u64(), forty_two.next_u64()],
            [0xbdd732262feb6e95, 0x28efe333b266f103]
        );
    }

    #[test]
    fn unguessable_differs_per_generator_and_per_draw() {
        let (mut a, mut b) = (Rng::unguessable(), Rng::unguessable());
        let first = a.next_u64();
        assert_ne!(first, a.next_u64());
        assert_ne!(first, b.next_u64(), "each generator has its own keys");
        assert_ne!(bytes::<16>(), bytes::<16>());
    }

    #[test]
    fn fill_uses_every_byte_of_a_partial_chunk() {
        let mut rng = Rng::seeded(0);
        let mut buf = [0u8; 11];
        rng.fill(&mut buf);
        let mut reference = Rng::seeded(0);
        let mut expected = reference.next_u64().to_le_bytes().to_vec();
        expected.extend_from_slice(&reference.next_u64().to_le_bytes()[..3]);
        assert_eq!(buf.as_slice(), expected);
    }

    #[test]
    fn upper_alphanumeric_has_the_length_and_alphabet() {
        let text = upper_alphanumeric(100);
        assert_eq!(text.len(), 100);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
    }
}
