//! InfluxQL 1.x, as influxd 1.6.7 speaks it: lexer, parser, AST and `Display`, pure Rust
//! with no runtime.
//!
//! [`parse_query`] turns text into a [`Query`]; every statement of InfluxQL 1.x is
//! covered. The parser follows influxd's own call for call, so a bad query gets the same
//! error text, line and char as from influxd (`found EOF, expected FROM at line 1, char
//! 9`); `tests/corpus/errors.json` holds influxd's answers to a few hundred bad queries,
//! recorded by `tests/gen_corpus.py`. `Display` prints a tree as influxd's `String()`
//! does, which `SHOW CONTINUOUS QUERIES` and `SHOW QUERIES` show to users.
//! [`validate_select`] repeats the checks influxd makes before running a `SELECT`, with
//! its messages; [`column_names`] names result columns as influxd does.
//!
//! # Layout
//! - `ast` — the tree: [`Statement`], [`SelectStatement`], [`Expr`]…; `Expr::walk`.
//! - `token` — tokens, keywords, character classes.
//! - `lexer` — influxd's scanner: a rune reader and a token buffer, both rings of three.
//! - `parser/` — `mod` (entry points, bound parameters, token helpers), `expr`,
//!   `select` (also the clauses other statements share), `show`, `continuous`
//!   (continuous queries, subscriptions), `admin` (the rest).
//! - `display`, `display_stmt` — `Display` for expressions and statements; quoting.
//! - `regex` — Go `regexp/syntax`'s checks and error texts for `/regex/` literals.
//! - `time` — durations, time strings, time zone names (`zones.txt`).
//! - `validate`, `calls` — influxd's checks before it runs a `SELECT`, per statement
//!   and per function.
//! - `names` — result column names (`mean`, `mean_1`…).
//! - `error` — [`ParseError`].
//!
//! Outside `src/`: `tests/corpus/*.json` with `tests/corpus.rs` (replays influxd's
//! answers), `tests/mutations.rs` (mutated queries never panic), `fuzz/`
//! (`cargo +nightly fuzz run parse`).

mod ast;
mod calls;
mod display;
mod display_stmt;
mod error;
mod lexer;
mod names;
mod parser;
mod regex;
mod time;
mod token;
mod validate;

pub use ast::*;
pub use calls::TECHNICAL_ANALYSIS;
pub use display::{format_rfc3339_nano, ident_needs_quotes, quote_ident, quote_string};
pub use error::ParseError;
pub use names::{column_names, field_name};
pub use parser::{
    is_raw_query, parse_expr, parse_query, parse_query_with_params, parse_statement, ParamValue,
    Params,
};
pub use time::{
    format_duration, go_duration, is_time_literal, parse_duration, parse_time_parts,
    parse_time_string, DurationError,
};
pub use validate::validate_select;
