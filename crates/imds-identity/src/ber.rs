//! BER to DER, for AWS's PKCS#7 blobs.
//!
//! AWS encodes `rsa2048` and `pkcs7` in BER: the outer structures use
//! indefinite lengths (closed by end-of-contents octets) and the embedded
//! document is a constructed OCTET STRING wrapping primitive segments. `cms`
//! parses DER. `der`'s `ber` feature reads indefinite lengths, but an
//! `Any` decoded that way (what `cms` keeps for `eContent`) holds the
//! segments' headers as if they were content, so the document would come
//! out wrong. This module rewrites the blob as DER first: definite, minimal
//! lengths, and each constructed OCTET STRING as one primitive OCTET STRING
//! holding its segments' bytes. Nothing else changes; what DER forbids
//! beyond that (unsorted SETs, non-minimal INTEGERs, ...) is left for the
//! DER parser to refuse.
//!
//! Bounded: input of at most [`MAX_INPUT`] bytes, nesting of at most
//! [`MAX_DEPTH`] levels, lengths of at most four octets. The output is never
//! longer than the input.

use std::fmt;

/// The largest blob accepted. AWS's are about 1.1 KiB (`rsa2048`) and
/// 0.9 KiB (`pkcs7`).
pub(crate) const MAX_INPUT: usize = 64 * 1024;

/// The deepest nesting accepted. A CMS SignedData from AWS nests 9 deep.
pub(crate) const MAX_DEPTH: usize = 32;

const UNIVERSAL_OCTET_STRING: u8 = 0x04;
const CONSTRUCTED: u8 = 0x20;

/// Why a blob is not BER this module can rewrite. Says where and what,
/// never quotes the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BerError {
    /// Byte offset in the input where the problem was found.
    pub(crate) offset: usize,
    pub(crate) kind: BerErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BerErrorKind {
    TooLarge,
    TooDeep,
    Truncated,
    LengthTooLong,
    IndefinitePrimitive,
    UnexpectedEndOfContents,
    NotOctetStringSegment,
    TrailingData,
    Empty,
}

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            BerErrorKind::TooLarge => "larger than the 64 KiB accepted",
            BerErrorKind::TooDeep => "nested deeper than 32 levels",
            BerErrorKind::Truncated => "truncated",
            BerErrorKind::LengthTooLong => "a length longer than four octets",
            BerErrorKind::IndefinitePrimitive => "an indefinite length on a primitive value",
            BerErrorKind::UnexpectedEndOfContents => "an end-of-contents marker out of place",
            BerErrorKind::NotOctetStringSegment => {
                "a constructed OCTET STRING segment that is not an OCTET STRING"
            }
            BerErrorKind::TrailingData => "bytes after the end of the structure",
            BerErrorKind::Empty => "empty",
        };
        write!(f, "invalid BER at byte {}: {what}", self.offset)
    }
}

/// `input`, one BER element, rewritten as DER (see the module's doc).
pub(crate) fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    if input.len() > MAX_INPUT {
        return Err(BerError {
            offset: MAX_INPUT,
            kind: BerErrorKind::TooLarge,
        });
    }
    if input.is_empty() {
        return Err(BerError {
            offset: 0,
            kind: BerErrorKind::Empty,
        });
    }
    let mut reader = Reader { input, pos: 0 };
    let mut out = Vec::with_capacity(input.len());
    reader.element(0, input.len(), &mut out)?;
    if reader.pos != input.len() {
        return Err(reader.error(BerErrorKind::TrailingData));
    }
    Ok(out)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

struct Header<'a> {
    /// The identifier octets as read (tag class, constructed bit, number).
    identifier: &'a [u8],
    constructed: bool,
    octet_string: bool,
    /// `None` for an indefinite length.
    length: Option<usize>,
}

impl<'a> Reader<'a> {
    fn error(&self, kind: BerErrorKind) -> BerError {
        BerError {
            offset: self.pos,
            kind,
        }
    }

    fn byte(&mut self, end: usize) -> Result<u8, BerError> {
        if self.pos >= end {
            return Err(self.error(BerErrorKind::Truncated));
        }
        let byte = self.input[self.pos];
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize, end: usize) -> Result<&'a [u8], BerError> {
        if n > end - self.pos {
            return Err(self.error(BerErrorKind::Truncated));
        }
        let bytes = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    /// At an end-of-contents marker (`00 00`)? Consumes it if so.
    fn end_of_contents(&mut self, end: usize) -> Result<bool, BerError> {
        match self.input[self.pos..end] {
            [0x00, 0x00, ..] => {
                self.pos += 2;
                Ok(true)
            }
            [0x00] | [] => Err(self.error(BerErrorKind::Truncated)),
            _ => Ok(false),
        }
    }

    fn header(&mut self, end: usize) -> Result<Header<'a>, BerError> {
        let start = self.pos;
        let first = self.byte(end)?;
        if first == 0x00 {
            // Tag 0 is reserved for end-of-contents, which only closes an
            // indefinite length (handled by the caller).
            self.pos = start;
            return Err(self.error(BerErrorKind::UnexpectedEndOfContents));
        }
        if first & 0x1f == 0x1f {
            // High tag number: base-128 octets, the last without bit 8.
            let mut count = 0;
            loop {
                let byte = self.byte(end)?;
                count += 1;
                if count > 4 {
                    return Err(self.error(BerErrorKind::LengthTooLong));
                }
                if byte & 0x80 == 0 {
                    break;
                }
            }
        }
        let identifier = &self.input[start..self.pos];
        let constructed = first & CONSTRUCTED != 0;
        let octet_string = first & !CONSTRUCTED == UNIVERSAL_OCTET_STRING;
        let length = match self.byte(end)? {
            short @ 0x00..=0x7f => Some(usize::from(short)),
            0x80 => None,
            long @ 0x81..=0x84 => {
                let mut value = 0usize;
                for _ in 0..(long & 0x7f) {
                    value = (value << 8) | usize::from(self.byte(end)?);
                }
                Some(value)
            }
            _ => return Err(self.error(BerErrorKind::LengthTooLong)),
        };
        if length.is_none() && !constructed {
            return Err(self.error(BerErrorKind::IndefinitePrimitive));
        }
        Ok(Header {
            identifier,
            constructed,
            octet_string,
            length,
        })
    }

    /// Reads one element ending at or before `end` and appends its DER.
    fn element(&mut self, depth: usize, end: usize, out: &mut Vec<u8>) -> Result<(), BerError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(BerErrorKind::TooDeep));
        }
        let header = self.header(end)?;
        let mut contents = Vec::new();
        if header.octet_string {
            self.octet_string_contents(&header, depth, end, &mut contents)?;
            out.push(UNIVERSAL_OCTET_STRING);
        } else {
            if header.constructed {
                self.children(&header, end, |reader, child_end| {
                    reader.element(depth + 1, child_end, &mut contents)
                })?;
            } else {
                // Primitive: a definite length, checked by `header`.
                let length = header.length.unwrap_or_default();
                contents.extend_from_slice(self.take(length, end)?);
            }
            out.extend_from_slice(header.identifier);
        }
        push_length(out, contents.len());
        out.extend_from_slice(&contents);
        Ok(())
    }

    /// The bytes of an OCTET STRING, primitive or constructed from segments
    /// (themselves OCTET STRINGs, maybe constructed again).
    fn octet_string_contents(
        &mut self,
        header: &Header<'a>,
        depth: usize,
        end: usize,
        contents: &mut Vec<u8>,
    ) -> Result<(), BerError> {
        if !header.constructed {
            let length = header.length.unwrap_or_default();
            contents.extend_from_slice(self.take(length, end)?);
            return Ok(());
        }
        self.children(header, end, |reader, child_end| {
            if depth + 1 >= MAX_DEPTH {
                return Err(reader.error(BerErrorKind::TooDeep));
            }
            let segment_start = reader.pos;
            let segment = reader.header(child_end)?;
            if !segment.octet_string {
                reader.pos = segment_start;
                return Err(reader.error(BerErrorKind::NotOctetStringSegment));
            }
            reader.octet_string_contents(&segment, depth + 1, child_end, contents)
        })
    }

    /// Calls `child` for each element inside a constructed value, up to its
    /// definite end or its end-of-contents marker.
    fn children(
        &mut self,
        header: &Header<'a>,
        end: usize,
        mut child: impl FnMut(&mut Self, usize) -> Result<(), BerError>,
    ) -> Result<(), BerError> {
        match header.length {
            Some(length) => {
                if length > end - self.pos {
                    return Err(self.error(BerErrorKind::Truncated));
                }
                let inner_end = self.pos + length;
                while self.pos < inner_end {
                    child(self, inner_end)?;
                }
            }
            None => {
                while !self.end_of_contents(end)? {
                    child(self, end)?;
                }
            }
        }
        Ok(())
    }
}

/// A DER length: short form below 128, else the fewest octets.
fn push_length(out: &mut Vec<u8>, length: usize) {
    if length < 0x80 {
        out.push(length as u8);
        return;
    }
    let bytes = length.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests;
