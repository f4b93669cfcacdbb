//! `SHOW …` statements.

use super::{PResult, Parser};
use crate::ast::{BinaryOp, CardinalityKind, Expr, Regex, Statement, TagKeyExpr};
use crate::error::ParseError;
use crate::lexer::Tok;

/// The `SHOW` keywords in the order influxd lists them when none matches.
const SHOW_WORDS: &[&str] = &[
    "CONTINUOUS",
    "DATABASES",
    "DIAGNOSTICS",
    "FIELD",
    "GRANTS",
    "MEASUREMENT",
    "MEASUREMENTS",
    "QUERIES",
    "RETENTION",
    "SERIES",
    "SHARD",
    "SHARDS",
    "STATS",
    "SUBSCRIPTIONS",
    "TAG",
    "USERS",
];

/// `ON db` / `FROM sources` / `WHERE …` / `GROUP BY …` / `LIMIT` / `OFFSET`, the common
/// tail of the `… CARDINALITY` statements.
struct CardinalityTail {
    database: Option<String>,
    sources: Vec<crate::ast::Source>,
    condition: Option<Expr>,
    tag_key: Option<(BinaryOp, TagKeyExpr)>,
    dimensions: Vec<crate::ast::Dimension>,
    limit: u64,
    offset: u64,
}

impl Parser<'_> {
    /// `SHOW` has been read.
    pub(crate) fn parse_show_statement(&mut self) -> PResult<Statement> {
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Continuous => {
                self.expect_words(&[(Tok::Queries, "QUERIES")])?;
                Ok(Statement::ShowContinuousQueries)
            }
            Tok::Databases => Ok(Statement::ShowDatabases),
            Tok::Diagnostics => Ok(Statement::ShowDiagnostics {
                module: self.parse_for_module()?,
            }),
            Tok::Stats => Ok(Statement::ShowStats {
                module: self.parse_for_module()?,
            }),
            Tok::Field => {
                let t = self.scan_ignore_ws();
                match t.tok {
                    Tok::Key => self.parse_cardinality_with_exact(CardinalityKind::FieldKey),
                    Tok::Keys => self.parse_show_field_keys(),
                    _ => Err(ParseError::expected(t.text(), &["KEY", "KEYS"], t.pos)),
                }
            }
            Tok::Grants => {
                self.expect_words(&[(Tok::For, "FOR")])?;
                Ok(Statement::ShowGrants {
                    user: self.parse_ident()?,
                })
            }
            Tok::Measurement => {
                let t = self.scan_ignore_ws();
                match t.tok {
                    Tok::Exact => {
                        self.parse_tokens(&[Tok::Cardinality])?;
                        self.parse_cardinality(CardinalityKind::Measurement, true)
                    }
                    Tok::Cardinality => self.parse_cardinality(CardinalityKind::Measurement, false),
                    _ => Err(ParseError::expected(
                        t.text(),
                        &["EXACT", "CARDINALITY"],
                        t.pos,
                    )),
                }
            }
            Tok::Measurements => self.parse_show_measurements(),
            Tok::Queries => Ok(Statement::ShowQueries),
            Tok::Retention => {
                self.expect_words(&[(Tok::Policies, "POLICIES")])?;
                let database = if self.accept(Tok::On) {
                    Some(self.parse_ident()?)
                } else {
                    None
                };
                Ok(Statement::ShowRetentionPolicies { database })
            }
            Tok::Series => self.parse_show_series(),
            Tok::Shard => {
                self.expect_words(&[(Tok::Groups, "GROUPS")])?;
                Ok(Statement::ShowShardGroups)
            }
            Tok::Shards => Ok(Statement::ShowShards),
            Tok::Subscriptions => Ok(Statement::ShowSubscriptions),
            Tok::Tag => {
                let t = self.scan_ignore_ws();
                match t.tok {
                    Tok::Key => self.parse_cardinality_with_exact(CardinalityKind::TagKey),
                    Tok::Keys => self.parse_show_tag_keys(),
                    Tok::Values => self.parse_show_tag_values(),
                    _ => Err(ParseError::expected(
                        t.text(),
                        &["KEY", "KEYS", "VALUES"],
                        t.pos,
                    )),
                }
            }
            Tok::Users => Ok(Statement::ShowUsers),
            _ => Err(ParseError::expected(t.text(), SHOW_WORDS, t.pos)),
        }
    }

    fn parse_for_module(&mut self) -> PResult<Option<String>> {
        if self.accept(Tok::For) {
            Ok(Some(self.parse_string()?))
        } else {
            Ok(None)
        }
    }

    fn parse_on_database(&mut self) -> PResult<Option<String>> {
        if self.accept(Tok::On) {
            Ok(Some(self.parse_ident()?))
        } else {
            Ok(None)
        }
    }

    fn parse_optional_from(&mut self) -> PResult<Vec<crate::ast::Source>> {
        if self.accept(Tok::From) {
            self.parse_sources(false)
        } else {
            Ok(Vec::new())
        }
    }

    /// `SHOW TAG KEY` / `SHOW FIELD KEY` have been read: `[EXACT] CARDINALITY` follows.
    fn parse_cardinality_with_exact(&mut self, what: CardinalityKind) -> PResult<Statement> {
        let exact = self.accept(Tok::Exact);
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Cardinality {
            let expected: &[&str] = if exact {
                &["CARDINALITY"]
            } else {
                &["EXACT", "CARDINALITY"]
            };
            return Err(ParseError::expected(t.text(), expected, t.pos));
        }
        self.parse_cardinality(what, exact)
    }

    fn parse_cardinality_tail(&mut self, with_key: bool) -> PResult<CardinalityTail> {
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        let tag_key = if with_key {
            Some(self.parse_tag_key_expr()?)
        } else {
            None
        };
        let condition = self.parse_condition()?;
        let dimensions = self.parse_dimensions()?;
        let limit = self.parse_optional_token_and_int(Tok::Limit)?;
        let offset = self.parse_optional_token_and_int(Tok::Offset)?;
        Ok(CardinalityTail {
            database,
            sources,
            condition,
            tag_key,
            dimensions,
            limit,
            offset,
        })
    }

    /// `… CARDINALITY` has been read.
    fn parse_cardinality(&mut self, what: CardinalityKind, exact: bool) -> PResult<Statement> {
        let tail = self.parse_cardinality_tail(what == CardinalityKind::TagValues)?;
        Ok(Statement::ShowCardinality {
            what,
            exact,
            database: tail.database,
            sources: tail.sources,
            condition: tail.condition,
            tag_key: tail.tag_key,
            dimensions: tail.dimensions,
            limit: tail.limit,
            offset: tail.offset,
        })
    }

    fn parse_show_series(&mut self) -> PResult<Statement> {
        let exact = self.accept(Tok::Exact);
        if self.scan_ignore_ws().tok == Tok::Cardinality {
            return self.parse_cardinality(CardinalityKind::Series, exact);
        }
        self.unscan();
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        let condition = self.parse_condition()?;
        // influxd parses ORDER BY here and ignores it.
        self.parse_order_by()?;
        let limit = self.parse_optional_token_and_int(Tok::Limit)?;
        let offset = self.parse_optional_token_and_int(Tok::Offset)?;
        Ok(Statement::ShowSeries {
            database,
            sources,
            condition,
            limit,
            offset,
        })
    }

    fn parse_show_measurements(&mut self) -> PResult<Statement> {
        let database = self.parse_on_database()?;
        let mut source = None;
        if self.accept(Tok::With) {
            self.parse_tokens(&[Tok::Measurement])?;
            let t = self.scan_ignore_ws();
            match t.tok {
                Tok::Eq | Tok::EqRegex => source = Some(self.parse_source(false)?),
                _ => return Err(ParseError::expected(t.text(), &["=", "=~"], t.pos)),
            }
        }
        let condition = self.parse_condition()?;
        self.parse_order_by()?;
        let limit = self.parse_optional_token_and_int(Tok::Limit)?;
        let offset = self.parse_optional_token_and_int(Tok::Offset)?;
        Ok(Statement::ShowMeasurements {
            database,
            source,
            condition,
            limit,
            offset,
        })
    }

    fn parse_show_tag_keys(&mut self) -> PResult<Statement> {
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        let condition = self.parse_condition()?;
        self.parse_order_by()?;
        let limit = self.parse_optional_token_and_int(Tok::Limit)?;
        let offset = self.parse_optional_token_and_int(Tok::Offset)?;
        let slimit = self.parse_optional_token_and_int(Tok::Slimit)?;
        let soffset = self.parse_optional_token_and_int(Tok::Soffset)?;
        Ok(Statement::ShowTagKeys {
            database,
            sources,
            condition,
            limit,
            offset,
            slimit,
            soffset,
        })
    }

    fn parse_show_tag_values(&mut self) -> PResult<Statement> {
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Exact => {
                self.parse_tokens(&[Tok::Cardinality])?;
                return self.parse_cardinality(CardinalityKind::TagValues, true);
            }
            Tok::Cardinality => return self.parse_cardinality(CardinalityKind::TagValues, false),
            _ => self.unscan(),
        }
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        let (op, tag_key) = self.parse_tag_key_expr()?;
        let condition = self.parse_condition()?;
        self.parse_order_by()?;
        let limit = self.parse_optional_token_and_int(Tok::Limit)?;
        let offset = self.parse_optional_token_and_int(Tok::Offset)?;
        Ok(Statement::ShowTagValues {
            database,
            sources,
            op,
            tag_key,
            condition,
            limit,
            offset,
        })
    }

    /// `WITH KEY IN (a, b)` / `= k` / `!= k` / `=~ /re/` / `!~ /re/`.
    fn parse_tag_key_expr(&mut self) -> PResult<(BinaryOp, TagKeyExpr)> {
        self.parse_tokens(&[Tok::With, Tok::Key])?;
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::In => {
                let t = self.scan_ignore_ws();
                if t.tok != Tok::LParen {
                    return Err(ParseError::expected(t.text(), &["("], t.pos));
                }
                let keys = self.parse_ident_list()?;
                let t = self.scan_ignore_ws();
                if t.tok != Tok::RParen {
                    return Err(ParseError::expected(t.text(), &[")"], t.pos));
                }
                Ok((BinaryOp::Eq, TagKeyExpr::Names(keys)))
            }
            Tok::Eq | Tok::Neq => {
                let key = self.parse_ident()?;
                let op = if t.tok == Tok::Eq {
                    BinaryOp::Eq
                } else {
                    BinaryOp::Neq
                };
                Ok((op, TagKeyExpr::Names(vec![key])))
            }
            Tok::EqRegex | Tok::NeqRegex => match self.parse_regex()? {
                Some(Regex(re)) => {
                    let op = if t.tok == Tok::EqRegex {
                        BinaryOp::EqRegex
                    } else {
                        BinaryOp::NeqRegex
                    };
                    Ok((op, TagKeyExpr::Regex(Regex(re))))
                }
                None => {
                    let t = self.scan_ignore_ws();
                    Err(ParseError::expected(t.text(), &["regex"], t.pos))
                }
            },
            _ => Err(ParseError::expected(t.text(), &["IN", "=", "=~"], t.pos)),
        }
    }

    fn parse_show_field_keys(&mut self) -> PResult<Statement> {
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        self.parse_order_by()?;
        let limit = self.parse_optional_token_and_int(Tok::Limit)?;
        let offset = self.parse_optional_token_and_int(Tok::Offset)?;
        Ok(Statement::ShowFieldKeys {
            database,
            sources,
            limit,
            offset,
        })
    }
}
