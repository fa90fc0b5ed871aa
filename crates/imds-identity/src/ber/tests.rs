use proptest::prelude::*;

use super::*;

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|b| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        })
        .collect();
    digits
        .chunks(2)
        .map(|pair| pair[0] << 4 | pair[1])
        .collect()
}

fn kind(input: &str) -> BerErrorKind {
    to_der(&hex(input)).unwrap_err().kind
}

#[test]
fn der_passes_through_unchanged() {
    let der = hex("30 0b 02 01 01 04 02 68 69 31 02 05 00");
    assert_eq!(to_der(&der).unwrap(), der);
}

#[test]
fn indefinite_lengths_become_definite() {
    // SEQUENCE (indefinite) { INTEGER 1, [0] (indefinite) { NULL } }
    let ber = hex("30 80 02 01 01 a0 80 05 00 00 00 00 00");
    assert_eq!(to_der(&ber).unwrap(), hex("30 07 02 01 01 a0 02 05 00"));
}

#[test]
fn constructed_octet_string_becomes_primitive() {
    // As AWS wraps the document: [0] { OCTET STRING (constructed,
    // indefinite) { OCTET STRING "Hello," OCTET STRING " world" } }
    let ber = hex("a0 80 24 80 04 06 48656c6c6f2c 04 06 20776f726c64 00 00 00 00");
    assert_eq!(
        to_der(&ber).unwrap(),
        hex("a0 0e 04 0c 48656c6c6f2c20776f726c64")
    );
    // Definite constructed, and segments nested one level deeper.
    let ber = hex("24 0b 04 02 6869 24 80 04 01 21 00 00");
    assert_eq!(to_der(&ber).unwrap(), hex("04 03 686921"));
}

#[test]
fn long_lengths_become_minimal() {
    let ber = hex("04 84 00 00 00 02 68 69");
    assert_eq!(to_der(&ber).unwrap(), hex("04 02 68 69"));
    let content = vec![0x61; 300];
    let mut ber = hex("04 83 00 01 2c");
    ber.extend_from_slice(&content);
    let mut der = hex("04 82 01 2c");
    der.extend_from_slice(&content);
    assert_eq!(to_der(&ber).unwrap(), der);
}

#[test]
fn high_tag_numbers_are_kept() {
    let ber = hex("bf 81 00 80 05 00 00 00");
    assert_eq!(to_der(&ber).unwrap(), hex("bf 81 00 02 05 00"));
}

#[test]
fn malformed_input_is_refused_with_a_reason() {
    assert_eq!(kind(""), BerErrorKind::Empty);
    assert_eq!(kind("30"), BerErrorKind::Truncated);
    assert_eq!(kind("30 80"), BerErrorKind::Truncated);
    assert_eq!(kind("30 80 00"), BerErrorKind::Truncated);
    assert_eq!(kind("30 80 05 00"), BerErrorKind::Truncated);
    assert_eq!(kind("30 05 05 00"), BerErrorKind::Truncated);
    assert_eq!(kind("04 80 00 00"), BerErrorKind::IndefinitePrimitive);
    assert_eq!(kind("30 85 00 00 00 00 01 05"), BerErrorKind::LengthTooLong);
    assert_eq!(kind("30 ff"), BerErrorKind::LengthTooLong);
    assert_eq!(kind("00 00"), BerErrorKind::UnexpectedEndOfContents);
    assert_eq!(kind("30 02 00 00"), BerErrorKind::UnexpectedEndOfContents);
    assert_eq!(
        kind("30 80 00 01 00 00"),
        BerErrorKind::UnexpectedEndOfContents
    );
    assert_eq!(
        kind("24 80 02 01 01 00 00"),
        BerErrorKind::NotOctetStringSegment
    );
    assert_eq!(kind("05 00 05 00"), BerErrorKind::TrailingData);
    // A child running past its parent's definite end.
    assert_eq!(kind("30 03 04 02 68 69"), BerErrorKind::Truncated);
    assert_eq!(kind("1f ff ff ff ff 7f 00"), BerErrorKind::LengthTooLong);
}

#[test]
fn nesting_is_bounded() {
    let nest = |depth: usize, open: &str| {
        let mut text = open.repeat(depth);
        text.push_str("05 00");
        text.push_str(&"00 00 ".repeat(depth));
        hex(&text)
    };
    assert!(to_der(&nest(MAX_DEPTH - 1, "30 80 ")).is_ok());
    assert_eq!(
        to_der(&nest(MAX_DEPTH, "30 80 ")).unwrap_err().kind,
        BerErrorKind::TooDeep
    );
    // Constructed OCTET STRING segments count as levels too.
    let mut deep = "24 80 ".repeat(MAX_DEPTH + 1);
    deep.push_str("04 00");
    deep.push_str(&"00 00 ".repeat(MAX_DEPTH + 1));
    assert_eq!(to_der(&hex(&deep)).unwrap_err().kind, BerErrorKind::TooDeep);
    // A very deep input fails fast, without exhausting the stack.
    let huge = hex(&"30 80 ".repeat(20_000));
    assert_eq!(to_der(&huge).unwrap_err().kind, BerErrorKind::TooDeep);
}

#[test]
fn size_is_bounded() {
    let mut big = hex("04 83 01 00 00");
    big.resize(MAX_INPUT + 1, 0x61);
    assert_eq!(to_der(&big).unwrap_err().kind, BerErrorKind::TooLarge);
}

#[test]
fn error_says_where_without_quoting() {
    let error = to_der(&hex("30 80 05 00")).unwrap_err();
    assert_eq!(error.to_string(), "invalid BER at byte 4: truncated");
}

/// An ASN.1 value tree, to encode both ways.
#[derive(Debug, Clone)]
enum Node {
    /// A primitive value under a non-OCTET STRING tag.
    Primitive(u8, Vec<u8>),
    Octets(Vec<u8>),
    /// SEQUENCE, SET or a context-specific constructed tag.
    Constructed(u8, Vec<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        (
            prop::sample::select(vec![0x01u8, 0x02, 0x05, 0x06, 0x0c, 0x17, 0x80]),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(tag, bytes)| Node::Primitive(tag, bytes)),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Node::Octets),
    ];
    leaf.prop_recursive(6, 64, 5, |inner| {
        (
            prop::sample::select(vec![0x30u8, 0x31, 0xa0, 0xa1]),
            prop::collection::vec(inner, 0..5),
        )
            .prop_map(|(tag, children)| Node::Constructed(tag, children))
    })
}

fn der(node: &Node, out: &mut Vec<u8>) {
    let (tag, contents) = match node {
        Node::Primitive(tag, bytes) => (*tag, bytes.clone()),
        Node::Octets(bytes) => (0x04, bytes.clone()),
        Node::Constructed(tag, children) => {
            let mut contents = Vec::new();
            for child in children {
                der(child, &mut contents);
            }
            (*tag, contents)
        }
    };
    out.push(tag);
    push_length(out, contents.len());
    out.extend_from_slice(&contents);
}

/// A BER encoding of `node`, its choices (definite or indefinite, short or
/// padded long lengths, OCTET STRINGs in segments) drawn from `choices`.
fn ber(node: &Node, choices: &mut impl Iterator<Item = u8>, out: &mut Vec<u8>) {
    let mut choice = || choices.next().unwrap_or(0);
    let header = |out: &mut Vec<u8>, tag: u8, length: usize, pick: u8| {
        out.push(tag);
        if pick.is_multiple_of(3) {
            // long form padded to four octets
            out.push(0x84);
            out.extend_from_slice(&(length as u32).to_be_bytes());
        } else {
            push_length(out, length);
        }
    };
    match node {
        Node::Primitive(tag, bytes) => {
            header(out, *tag, bytes.len(), choice());
            out.extend_from_slice(bytes);
        }
        Node::Octets(bytes) => {
            let pick = choice();
            if pick.is_multiple_of(2) || bytes.is_empty() {
                header(out, 0x04, bytes.len(), pick);
                out.extend_from_slice(bytes);
            } else {
                // constructed, indefinite, in segments of `pick` bytes
                out.extend_from_slice(&[0x24, 0x80]);
                for segment in bytes.chunks(usize::from(pick).max(1)) {
                    out.push(0x04);
                    push_length(out, segment.len());
                    out.extend_from_slice(segment);
                }
                out.extend_from_slice(&[0, 0]);
            }
        }
        Node::Constructed(tag, children) => {
            let pick = choice();
            let mut contents = Vec::new();
            for child in children {
                ber(child, choices, &mut contents);
            }
            if !pick.is_multiple_of(2) {
                out.extend_from_slice(&[*tag, 0x80]);
                out.extend_from_slice(&contents);
                out.extend_from_slice(&[0, 0]);
            } else {
                header(out, *tag, contents.len(), pick);
                out.extend_from_slice(&contents);
            }
        }
    }
}

proptest! {
    #[test]
    fn der_is_a_fixed_point(tree in node()) {
        let mut encoded = Vec::new();
        der(&tree, &mut encoded);
        prop_assert_eq!(to_der(&encoded).unwrap(), encoded);
    }

    #[test]
    fn any_ber_encoding_normalises_to_the_der(
        tree in node(),
        choices in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut expected = Vec::new();
        der(&tree, &mut expected);
        let mut encoded = Vec::new();
        ber(&tree, &mut choices.into_iter(), &mut encoded);
        let normalised = to_der(&encoded).unwrap();
        prop_assert!(normalised.len() <= encoded.len());
        prop_assert_eq!(normalised, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(out) = to_der(&bytes) {
            prop_assert!(out.len() <= bytes.len());
            // DER out is a fixed point.
            prop_assert_eq!(to_der(&out).unwrap(), out);
        }
    }

    #[test]
    fn mutated_ber_never_panics(
        tree in node(),
        choices in prop::collection::vec(any::<u8>(), 0..64),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut encoded = Vec::new();
        ber(&tree, &mut choices.into_iter(), &mut encoded);
        for (at, value) in flips {
            let index = at.index(encoded.len());
            encoded[index] = value;
        }
        let _ = to_der(&encoded);
        let cut = cut.index(encoded.len() + 1);
        let _ = to_der(&encoded[..cut]);
    }
}
