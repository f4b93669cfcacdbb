//! The error of a failed parse, printed exactly as influxd 1.6.7 prints it after its
//! `error parsing query: ` prefix.

use thiserror::Error;

use crate::lexer::Pos;

/// Why a query did not parse.
///
/// `line` and `char` are 1-based. Both are 0 for the errors influxd reports without a
/// position (`invalid duration`, `fill must be a function call`, `missing parameter: x`…);
/// `Display` then prints the bare message, as influxd does.
///
/// `Display` gives the text influxd puts after `error parsing query: ` in
/// `{"error":"error parsing query: …"}`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", self.render())]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub char: usize,
}

impl ParseError {
    /// An error without a position.
    pub(crate) fn plain(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            line: 0,
            char: 0,
        }
    }

    /// An error at a (0-based) scanner position.
    pub(crate) fn at(message: impl Into<String>, pos: Pos) -> Self {
        ParseError {
            message: message.into(),
            line: pos.line + 1,
            char: pos.char + 1,
        }
    }

    /// Go's `newParseError(found, expected, pos)`: `found X, expected A, B`.
    pub(crate) fn expected(found: &str, expected: &[&str], pos: Pos) -> Self {
        Self::at(
            format!("found {}, expected {}", found, expected.join(", ")),
            pos,
        )
    }

    /// The full text influxd answers with: `error parsing query: …`.
    pub fn influxd_text(&self) -> String {
        format!("error parsing query: {self}")
    }

    fn render(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            format!("{} at line {}, char {}", self.message, self.line, self.char)
        }
    }
}
