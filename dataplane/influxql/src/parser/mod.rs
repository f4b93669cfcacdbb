//! The recursive-descent parser. It follows influxd 1.6.7's parser call for call (which
//! tokens it scans, unscans and peeks at), because the error texts and positions that
//! clients see depend on it.

mod admin;
mod continuous;
pub use continuous::is_raw_query;
mod expr;
mod select;
mod show;

use std::collections::HashMap;

use crate::ast::{Expr, Query, Statement};
use crate::error::ParseError;
use crate::lexer::{ScanKind, Tok, Token, TokenBuffer};
use crate::time::{go_atoi, parse_duration_go};

pub(crate) type PResult<T> = Result<T, ParseError>;

/// A bound parameter's value (`params={"name": value}` on `/query`).
///
/// influxd substitutes `$name` by a token before parsing, so a parameter can stand for
/// anything its token can: a JSON string is a string literal, a JSON number an integer
/// when it parses as an `i64` else a float, a bool a boolean, and the objects
/// `{"identifier": "x"}`, `{"regex": "x"}`, `{"duration": "1h"}` (or nanoseconds),
/// `{"integer": n}`, `{"number": x}`, `{"string": "x"}` the matching tokens. A value
/// that influxd cannot bind (JSON null, an array, an unknown object key…) is
/// [`ParamValue::Error`] with influxd's text, which the parser then reports as
/// `missing parameter: <text>`.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    String(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
    Identifier(String),
    Regex(String),
    /// Duration text as written (`1h30m`); nanoseconds go through
    /// [`format_duration`](crate::format_duration).
    Duration(String),
    Error(String),
}

/// Parameter name (without `$`) to value.
pub type Params = HashMap<String, ParamValue>;

pub(crate) struct Parser<'a> {
    s: TokenBuffer<'a>,
    params: Option<&'a Params>,
    /// Expressions and subqueries being parsed inside each other.
    depth: usize,
    /// Subqueries being parsed inside each other.
    subqueries: usize,
}

/// How deeply expressions (parentheses, call arguments) and subqueries may nest. Every
/// later step walks the tree recursively; influxd has no limit but Go's stack (1 GB) and
/// dies when it runs out. Chains of AND/OR are not nesting: any length parses.
pub(crate) const MAX_NESTING: usize = 20_000;

/// How deeply subqueries may nest: each level is a whole statement planned and run on
/// its own (far beyond any real query, and far below what would exhaust a core's stack).
pub(crate) const MAX_SUBQUERY_NESTING: usize = 1_000;

/// Parses one or more `;`-separated statements.
pub fn parse_query(q: &str) -> Result<Query, ParseError> {
    Parser::new(q, None).parse_query()
}

/// Parses with `$name` bound parameters substituted, as influxd 1.6 does.
pub fn parse_query_with_params(q: &str, params: &Params) -> Result<Query, ParseError> {
    Parser::new(q, Some(params)).parse_query()
}

/// Parses exactly one statement (trailing text is ignored, as Go's `ParseStatement`).
pub fn parse_statement(s: &str) -> Result<Statement, ParseError> {
    Parser::new(s, None).parse_statement()
}

/// Parses an expression.
pub fn parse_expr(s: &str) -> Result<Expr, ParseError> {
    Parser::new(s, None).parse_expr()
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, params: Option<&'a Params>) -> Self {
        Parser {
            s: TokenBuffer::new(src),
            params,
            depth: 0,
            subqueries: 0,
        }
    }

    /// Runs `f` one subquery deeper, refusing to go past [`MAX_SUBQUERY_NESTING`].
    pub(crate) fn subquery<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.subqueries >= MAX_SUBQUERY_NESTING {
            return Err(ParseError::plain(format!(
                "subqueries nested more than {MAX_SUBQUERY_NESTING} deep"
            )));
        }
        self.subqueries += 1;
        let r = self.nested(f);
        self.subqueries -= 1;
        r
    }

    /// Runs `f` one nesting level deeper, refusing to go past [`MAX_NESTING`].
    pub(crate) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            return Err(ParseError::plain(format!(
                "expressions and subqueries nested more than {MAX_NESTING} deep"
            )));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    pub(crate) fn parse_query(&mut self) -> PResult<Query> {
        let mut statements = Vec::new();
        let mut semi = true;
        loop {
            let t = self.scan_ignore_ws();
            match t.tok {
                Tok::Eof => return Ok(Query { statements }),
                Tok::Semicolon => semi = true,
                _ => {
                    if !semi {
                        return Err(ParseError::expected(t.text(), &[";"], t.pos));
                    }
                    self.unscan();
                    statements.push(self.parse_statement()?);
                    semi = false;
                }
            }
        }
    }

    pub(crate) fn parse_statement(&mut self) -> PResult<Statement> {
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Select => Ok(Statement::Select(Box::new(
                self.parse_select_statement(select::Target::NotRequired)?,
            ))),
            Tok::Delete => self.parse_delete_statement(),
            Tok::Show => self.parse_show_statement(),
            Tok::Create => self.parse_create_statement(),
            Tok::Drop => self.parse_drop_statement(),
            Tok::Explain => self.parse_explain_statement(),
            Tok::Grant => self.parse_grant_statement(),
            Tok::Revoke => self.parse_revoke_statement(),
            Tok::Alter => {
                self.expect_words(&[(Tok::Retention, "RETENTION"), (Tok::Policy, "POLICY")])?;
                self.parse_alter_retention_policy_statement()
            }
            Tok::Set => {
                self.expect_words(&[(Tok::Password, "PASSWORD"), (Tok::For, "FOR")])?;
                self.parse_set_password_user_statement()
            }
            Tok::Kill => {
                self.expect_words(&[(Tok::Query, "QUERY")])?;
                self.parse_kill_query_statement()
            }
            _ => Err(ParseError::expected(
                t.text(),
                &[
                    "SELECT", "DELETE", "SHOW", "CREATE", "DROP", "EXPLAIN", "GRANT", "REVOKE",
                    "ALTER", "SET", "KILL",
                ],
                t.pos,
            )),
        }
    }

    /// Walks one level of influxd's statement tree: the next token must be one of `words`.
    pub(crate) fn expect_words(&mut self, words: &[(Tok, &str)]) -> PResult<()> {
        for (tok, name) in words {
            let t = self.scan_ignore_ws();
            if t.tok != *tok {
                return Err(ParseError::expected(t.text(), &[name], t.pos));
            }
        }
        Ok(())
    }

    // ---- token plumbing -------------------------------------------------------------

    fn substitute(&self, mut t: Token) -> Token {
        if t.tok != Tok::BoundParam {
            return t;
        }
        let k = t.lit.strip_prefix('$').unwrap_or(&t.lit);
        if k.is_empty() {
            return t;
        }
        if let Some(v) = self.params.and_then(|p| p.get(k)) {
            let (tok, lit) = match v {
                ParamValue::String(s) => (Tok::Str, s.clone()),
                ParamValue::Integer(i) => (Tok::Integer, i.to_string()),
                ParamValue::Number(f) => (Tok::Number, format!("{f}")),
                ParamValue::Boolean(true) => (Tok::True, String::new()),
                ParamValue::Boolean(false) => (Tok::False, String::new()),
                ParamValue::Identifier(s) => (Tok::Ident, s.clone()),
                ParamValue::Regex(s) => (Tok::Regex, s.clone()),
                ParamValue::Duration(s) => (Tok::DurationVal, s.clone()),
                ParamValue::Error(s) => (Tok::BoundParam, s.clone()),
            };
            t.tok = tok;
            t.lit = lit;
        }
        t
    }

    pub(crate) fn scan(&mut self) -> Token {
        let t = self.s.scan(ScanKind::Normal);
        self.substitute(t)
    }

    pub(crate) fn scan_regex(&mut self) -> Token {
        let t = self.s.scan(ScanKind::Regex);
        self.substitute(t)
    }

    /// The next token that is neither whitespace nor a comment.
    pub(crate) fn scan_ignore_ws(&mut self) -> Token {
        loop {
            let t = self.scan();
            if t.tok != Tok::Ws && t.tok != Tok::Comment {
                return t;
            }
        }
    }

    pub(crate) fn unscan(&mut self) {
        self.s.unscan();
    }

    pub(crate) fn peek_rune(&mut self) -> char {
        self.s.s.peek_rune()
    }

    pub(crate) fn consume_whitespace(&mut self) {
        if self.scan().tok != Tok::Ws {
            self.unscan();
        }
    }

    /// Scans the next token and reports whether it is `tok`, unscanning it if not.
    pub(crate) fn accept(&mut self, tok: Tok) -> bool {
        if self.scan_ignore_ws().tok == tok {
            true
        } else {
            self.unscan();
            false
        }
    }

    pub(crate) fn parse_tokens(&mut self, toks: &[Tok]) -> PResult<()> {
        for &expected in toks {
            let t = self.scan_ignore_ws();
            if t.tok != expected {
                return Err(ParseError::expected(t.text(), &[expected.name()], t.pos));
            }
        }
        Ok(())
    }

    pub(crate) fn parse_ident(&mut self) -> PResult<String> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Ident {
            return Err(ParseError::expected(t.text(), &["identifier"], t.pos));
        }
        Ok(t.lit)
    }

    pub(crate) fn parse_ident_list(&mut self) -> PResult<Vec<String>> {
        let mut idents = vec![self.parse_ident()?];
        loop {
            if self.scan_ignore_ws().tok != Tok::Comma {
                self.unscan();
                return Ok(idents);
            }
            idents.push(self.parse_ident()?);
        }
    }

    /// `"db"."rp".m`, `db..m`: up to three dot-separated identifiers. Stops before a
    /// regex or a `:` segment, which the caller handles.
    pub(crate) fn parse_segmented_idents(&mut self) -> PResult<Vec<String>> {
        let mut idents = vec![self.parse_ident()?];
        loop {
            if self.scan().tok != Tok::Dot {
                self.unscan();
                break;
            }
            match self.peek_rune() {
                '/' | ':' => break,
                '.' => {
                    idents.push(String::new());
                    continue;
                }
                _ => {}
            }
            idents.push(self.parse_ident()?);
        }
        if idents.len() > 3 {
            let msg = format!(
                "too many segments in {}",
                crate::display::quote_segments(&idents)
            );
            // Go builds this ParseError without a position: it prints line 1, char 1.
            return Err(ParseError {
                message: msg,
                line: 1,
                char: 1,
            });
        }
        Ok(idents)
    }

    pub(crate) fn parse_string(&mut self) -> PResult<String> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Str {
            return Err(ParseError::expected(t.text(), &["string"], t.pos));
        }
        Ok(t.lit)
    }

    pub(crate) fn parse_string_list(&mut self) -> PResult<Vec<String>> {
        let mut strs = vec![self.parse_string()?];
        loop {
            if self.scan_ignore_ws().tok != Tok::Comma {
                self.unscan();
                return Ok(strs);
            }
            strs.push(self.parse_string()?);
        }
    }

    /// Go's `ParseInt(min, max)`.
    pub(crate) fn parse_int(&mut self, min: i64, max: i64) -> PResult<i64> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Integer {
            return Err(ParseError::expected(t.text(), &["integer"], t.pos));
        }
        let n = go_atoi(&t.lit).map_err(|m| ParseError::at(m, t.pos))?;
        if n < min || n > max {
            return Err(ParseError::at(
                format!("invalid value {n}: must be {min} <= n <= {max}"),
                t.pos,
            ));
        }
        Ok(n)
    }

    /// Go's `ParseUInt64`.
    pub(crate) fn parse_uint64(&mut self) -> PResult<u64> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Integer {
            return Err(ParseError::expected(t.text(), &["integer"], t.pos));
        }
        t.lit.parse::<u64>().map_err(|_| {
            ParseError::at(
                format!(
                    "strconv.ParseUint: parsing {}: value out of range",
                    go_quote(&t.lit)
                ),
                t.pos,
            )
        })
    }

    /// A duration argument (`DURATION 1d`, `INF` = 0).
    pub(crate) fn parse_duration_arg(&mut self) -> PResult<i64> {
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Inf => Ok(0),
            Tok::DurationVal => parse_duration_go(&t.lit).map_err(|e| ParseError::at(e, t.pos)),
            _ => Err(ParseError::expected(t.text(), &["duration"], t.pos)),
        }
    }

    /// `LIMIT n` and friends; absent = 0.
    pub(crate) fn parse_optional_token_and_int(&mut self, tok: Tok) -> PResult<u64> {
        if self.scan_ignore_ws().tok != tok {
            self.unscan();
            return Ok(0);
        }
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Integer {
            return Err(ParseError::expected(t.text(), &["integer"], t.pos));
        }
        // Go ignores the range error here and keeps the clamped value.
        Ok(t.lit.parse::<i64>().unwrap_or(i64::MAX) as u64)
    }
}

/// Go's `%q` for the ASCII digit strings it is used on here.
pub(crate) fn go_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
