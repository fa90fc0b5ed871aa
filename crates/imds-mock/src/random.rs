//! Unguessable values from the operating system's randomness.

/// `N` random bytes from the OS.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS RNG failing is not something a test server can recover from.
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf
}

/// `len` characters from `[A-Z0-9]`, uniformly (rejection sampling).
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
