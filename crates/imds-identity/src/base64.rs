//! The signatures' text: base64, with or without PEM armour, as IMDS
//! serves them and as callers pass them on.

use std::fmt;

use base64ct::{Base64, Encoding};

use crate::material::MAX_MATERIAL_LEN;

/// Why a signature's text could not be decoded. Never quotes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    TooLarge,
    NotBase64,
    Empty,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::TooLarge => "larger than the 64 KiB accepted",
            DecodeError::NotBase64 => "not base64 (optionally PEM-armoured)",
            DecodeError::Empty => "empty",
        })
    }
}

/// The bytes under base64 text: PEM armour lines dropped, whitespace
/// ignored.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if text.len() > MAX_MATERIAL_LEN * 2 {
        return Err(DecodeError::TooLarge);
    }
    let mut compact = Vec::with_capacity(text.len());
    for line in text.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.starts_with(b"-----BEGIN ") || line.starts_with(b"-----END ") {
            continue;
        }
        compact.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
    }
    if compact.is_empty() {
        return Err(DecodeError::Empty);
    }
    let decoded =
        Base64::decode_vec(std::str::from_utf8(&compact).map_err(|_| DecodeError::NotBase64)?)
            .map_err(|_| DecodeError::NotBase64)?;
    if decoded.len() > MAX_MATERIAL_LEN {
        return Err(DecodeError::TooLarge);
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_or_without_armour_and_line_breaks() {
        let plain = b"aGVsbG8gd29ybGQ=";
        assert_eq!(decode(plain).unwrap(), b"hello world");
        let wrapped = b"aGVsbG8g\r\nd29y bGQ=\n";
        assert_eq!(decode(wrapped).unwrap(), b"hello world");
        let armoured = b"-----BEGIN PKCS7-----\naGVsbG8gd29ybGQ=\n-----END PKCS7-----\n";
        assert_eq!(decode(armoured).unwrap(), b"hello world");
    }

    #[test]
    fn bad_text_is_refused() {
        assert_eq!(decode(b""), Err(DecodeError::Empty));
        assert_eq!(decode(b" \n"), Err(DecodeError::Empty));
        assert_eq!(decode(b"not base64!"), Err(DecodeError::NotBase64));
        assert_eq!(decode(b"aGVsbG8"), Err(DecodeError::NotBase64));
        assert_eq!(decode(&[0xff, 0xfe]), Err(DecodeError::NotBase64));
        let huge = vec![b'A'; MAX_MATERIAL_LEN * 2 + 1];
        assert_eq!(decode(&huge), Err(DecodeError::TooLarge));
    }
}
