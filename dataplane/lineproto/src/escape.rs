//! Escaped tokens and influxd's escaping rules, which differ per kind of token:
//!
//! | kind | unescaped by influxd | source |
//! |---|---|---|
//! | measurement, field key | `\,` `\"` `\ ` `\=` | `escape.Unescape` |
//! | tag key, tag value | `\,` `\ ` `\=` | `unescapeTag` |
//! | string field value | `\"` `\\` | `unescapeStringField` |
//!
//! Any other backslash stays as it is.

use std::borrow::Cow;
use std::fmt;

/// What a token is; decides which escapes [`EscapedStr::unescaped`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Measurement,
    TagKey,
    TagValue,
    FieldKey,
    /// The text between the quotes of a string field value.
    StringValue,
}

/// A byte slice exactly as it appears in the input, still escaped; unescaping only when
/// needed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EscapedStr<'a> {
    raw: &'a [u8],
    has_escapes: bool,
    kind: TokenKind,
}

impl fmt::Debug for EscapedStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.raw))
    }
}

impl<'a> EscapedStr<'a> {
    /// `has_escapes` must be true when `raw` holds a backslash (false positives only cost
    /// an allocation in [`EscapedStr::unescaped`]).
    #[inline]
    pub(crate) fn new(raw: &'a [u8], has_escapes: bool, kind: TokenKind) -> Self {
        EscapedStr {
            raw,
            has_escapes,
            kind,
        }
    }

    /// A token of `kind`, looking for backslashes itself.
    pub fn from_raw(raw: &'a [u8], kind: TokenKind) -> Self {
        Self::new(raw, memchr::memchr(b'\\', raw).is_some(), kind)
    }

    /// The bytes as written, escapes included.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the token holds a backslash (and so may differ from its unescaped form).
    #[inline]
    pub fn has_escapes(&self) -> bool {
        self.has_escapes
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The value influxd stores: the token with its kind's escapes removed (see the
    /// module table). Borrows unless the token has escapes.
    pub fn unescaped(&self) -> Cow<'a, [u8]> {
        if !self.has_escapes {
            return Cow::Borrowed(self.raw);
        }
        let mut out = Vec::with_capacity(self.raw.len());
        let codes: &[u8] = match self.kind {
            TokenKind::Measurement | TokenKind::FieldKey => b",\" =",
            TokenKind::TagKey | TokenKind::TagValue => b", =",
            TokenKind::StringValue => b"\"\\",
        };
        unescape_into(self.raw, codes, &mut out);
        Cow::Owned(out)
    }
}

/// Left to right, `\c` becomes `c` for every `c` in `codes`. (influxd replaces code by
/// code with `bytes.Replace` for tags; for two-byte codes that all start with a backslash
/// that never chains, so the results agree.)
pub(crate) fn unescape_into(raw: &[u8], codes: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'\\' && i + 1 < raw.len() && codes.contains(&raw[i + 1]) {
            out.push(raw[i + 1]);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
}

/// Appends `s` with a backslash before every byte of `special`.
pub(crate) fn escape_into(s: &[u8], special: &[u8], out: &mut Vec<u8>) {
    for &c in s {
        if special.contains(&c) {
            out.push(b'\\');
        }
        out.push(c);
    }
}
