//! Base64 (RFC 4648), just enough for the mock: tokens and credential values
//! are encoded from random bytes, and `user_data` in a JSON config may be
//! given as base64. Hand-written to keep the dependency list short.

use std::fmt;

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Standard alphabet, `=`-padded.
pub(crate) fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, STANDARD, true)
}

/// URL-safe alphabet, unpadded: only `[A-Za-z0-9_-]`, safe in a header value.
pub(crate) fn encode_url_unpadded(bytes: &[u8]) -> String {
    encode_with(bytes, URL_SAFE, false)
}

fn encode_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        let used = chunk.len() + 1;
        for (i, s) in sextets.iter().enumerate() {
            if i < used {
                out.push(char::from(alphabet[*s as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// The input was not standard base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError;

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not valid base64 (standard alphabet, padding optional)")
    }
}

/// Decodes the standard alphabet; padding is optional and ASCII whitespace
/// (line breaks of wrapped base64) is ignored.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let padding = digits.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 || (padding > 0 && !digits.len().is_multiple_of(4)) {
        return Err(DecodeError);
    }
    digits.truncate(digits.len() - padding);
    if digits.len() % 4 == 1 {
        return Err(DecodeError);
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for d in digits {
        let value = STANDARD.iter().position(|&a| a == d).ok_or(DecodeError)?;
        acc = (acc << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(encoded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert_eq!(encode_url_unpadded(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode("Zm9v!"), Err(DecodeError));
        assert_eq!(decode("Z"), Err(DecodeError));
        assert_eq!(decode("Zg==="), Err(DecodeError));
        assert_eq!(decode("Zm9\nv"), Ok(b"foo".to_vec()));
    }
}
