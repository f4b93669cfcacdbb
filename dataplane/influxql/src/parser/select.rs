//! `SELECT` and the clauses other statements share: sources, `WHERE`, `GROUP BY`,
//! `ORDER BY`, `fill()`, `tz()`.

use super::{PResult, Parser};
use crate::ast::{
    BinaryOp, Dimension, Expr, Field, Fill, Measurement, SelectStatement, SortField, Source,
};
use crate::error::ParseError;
use crate::lexer::Tok;
use crate::time::is_known_zone;

/// Whether a `SELECT` must, may, or (as a subquery) may have an `INTO` clause.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Required,
    NotRequired,
    Subquery,
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// The operator influxd rejects in a field, if any: the last comparison or logical
/// operator met in a pre-order walk that does not descend into an offending node.
fn invalid_field_operator(e: &Expr, found: &mut Option<BinaryOp>) {
    match e {
        Expr::Binary { op, lhs, rhs } => {
            if op.is_comparison() || matches!(op, BinaryOp::And | BinaryOp::Or) {
                *found = Some(*op);
                return;
            }
            invalid_field_operator(lhs, found);
            invalid_field_operator(rhs, found);
        }
        Expr::Paren(inner) => invalid_field_operator(inner, found),
        Expr::Call { args, .. } => args.iter().for_each(|a| invalid_field_operator(a, found)),
        _ => {}
    }
}

impl Parser<'_> {
    /// The `SELECT` keyword has been read.
    pub(crate) fn parse_select_statement(&mut self, tr: Target) -> PResult<SelectStatement> {
        let mut stmt = SelectStatement {
            fields: self.parse_fields()?,
            ..SelectStatement::default()
        };
        stmt.target = self.parse_target(tr)?;
        let t = self.scan_ignore_ws();
        if t.tok != Tok::From {
            return Err(ParseError::expected(t.text(), &["FROM"], t.pos));
        }
        stmt.sources = self.parse_sources(true)?;
        stmt.condition = self.parse_condition()?;
        stmt.dimensions = self.parse_dimensions()?;
        stmt.fill = self.parse_fill()?;
        stmt.sort_fields = self.parse_order_by()?;
        stmt.limit = self.parse_optional_token_and_int(Tok::Limit)?;
        stmt.offset = self.parse_optional_token_and_int(Tok::Offset)?;
        stmt.slimit = self.parse_optional_token_and_int(Tok::Slimit)?;
        stmt.soffset = self.parse_optional_token_and_int(Tok::Soffset)?;
        stmt.location = self.parse_location()?;
        Ok(stmt)
    }

    fn parse_fields(&mut self) -> PResult<Vec<Field>> {
        let mut fields = Vec::new();
        loop {
            fields.push(self.parse_field()?);
            if self.scan().tok != Tok::Comma {
                self.unscan();
                return Ok(fields);
            }
        }
    }

    fn parse_field(&mut self) -> PResult<Field> {
        let expr = if let Some(re) = self.parse_regex()? {
            Expr::Regex(re)
        } else {
            let pos = self.scan_ignore_ws().pos;
            self.unscan();
            let expr = crate::parser::expr::unparen_wildcard(self.parse_expr()?);
            let mut bad = None;
            invalid_field_operator(&expr, &mut bad);
            if let Some(op) = bad {
                return Err(ParseError::plain(format!(
                    "invalid operator {} in SELECT clause at line {}, char {}; operator is intended for WHERE clause",
                    op.symbol(),
                    pos.line + 1,
                    pos.char + 1
                )));
            }
            expr
        };
        let alias = self.parse_alias()?;
        self.consume_whitespace();
        Ok(Field { expr, alias })
    }

    fn parse_alias(&mut self) -> PResult<Option<String>> {
        if self.scan_ignore_ws().tok != Tok::As {
            self.unscan();
            return Ok(None);
        }
        Ok(Some(self.parse_ident()?))
    }

    fn parse_target(&mut self, tr: Target) -> PResult<Option<Measurement>> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Into {
            if tr == Target::Required {
                return Err(ParseError::expected(t.text(), &["INTO"], t.pos));
            }
            self.unscan();
            return Ok(None);
        }
        let mut idents = self.parse_segmented_idents()?;
        if idents.len() < 3 && self.peek_rune() == ':' {
            self.parse_tokens(&[Tok::Colon, Tok::Measurement])?;
            idents.push(String::new());
        }
        let mut m = Measurement::default();
        let mut it = idents.into_iter();
        match it.len() {
            1 => m.name = it.next().and_then(non_empty),
            2 => {
                m.retention_policy = it.next().and_then(non_empty);
                m.name = it.next().and_then(non_empty);
            }
            _ => {
                m.database = it.next().and_then(non_empty);
                m.retention_policy = it.next().and_then(non_empty);
                m.name = it.next().and_then(non_empty);
            }
        }
        Ok(Some(m))
    }

    pub(crate) fn parse_sources(&mut self, subqueries: bool) -> PResult<Vec<Source>> {
        let mut sources = Vec::new();
        loop {
            sources.push(self.parse_source(subqueries)?);
            if self.scan_ignore_ws().tok != Tok::Comma {
                self.unscan();
                return Ok(sources);
            }
        }
    }

    pub(crate) fn parse_source(&mut self, subqueries: bool) -> PResult<Source> {
        let mut m = Measurement::default();
        if let Some(re) = self.parse_regex()? {
            m.regex = Some(re);
            return Ok(Source::Measurement(m));
        }
        if subqueries {
            if self.scan_ignore_ws().tok == Tok::LParen {
                self.parse_tokens(&[Tok::Select])?;
                let stmt = self.subquery(|p| p.parse_select_statement(Target::Subquery))?;
                self.parse_tokens(&[Tok::RParen])?;
                return Ok(Source::Subquery(Box::new(stmt)));
            }
            self.unscan();
        }
        let idents = self.parse_segmented_idents()?;
        let mut it = idents.into_iter();
        if it.len() == 3 {
            m.database = it.next().and_then(non_empty);
            m.retention_policy = it.next().and_then(non_empty);
            m.name = it.next().and_then(non_empty);
            return Ok(Source::Measurement(m));
        }
        let re = self.parse_regex()?;
        let has_re = re.is_some();
        m.regex = re;
        match (it.len(), has_re) {
            (1, true) => m.retention_policy = it.next().and_then(non_empty),
            (1, false) => m.name = it.next().and_then(non_empty),
            (_, true) => {
                m.database = it.next().and_then(non_empty);
                m.retention_policy = it.next().and_then(non_empty);
            }
            (_, false) => {
                m.retention_policy = it.next().and_then(non_empty);
                m.name = it.next().and_then(non_empty);
            }
        }
        Ok(Source::Measurement(m))
    }

    pub(crate) fn parse_condition(&mut self) -> PResult<Option<Expr>> {
        if self.scan_ignore_ws().tok != Tok::Where {
            self.unscan();
            return Ok(None);
        }
        Ok(Some(self.parse_expr()?))
    }

    pub(crate) fn parse_dimensions(&mut self) -> PResult<Vec<Dimension>> {
        if self.scan_ignore_ws().tok != Tok::Group {
            self.unscan();
            return Ok(Vec::new());
        }
        let t = self.scan_ignore_ws();
        if t.tok != Tok::By {
            return Err(ParseError::expected(t.text(), &["BY"], t.pos));
        }
        let mut dims = Vec::new();
        loop {
            let expr = match self.parse_regex()? {
                Some(re) => Expr::Regex(re),
                None => {
                    let e = self.parse_expr()?;
                    self.consume_whitespace();
                    e
                }
            };
            dims.push(Dimension { expr });
            if self.scan().tok != Tok::Comma {
                self.unscan();
                return Ok(dims);
            }
        }
    }

    fn parse_fill(&mut self) -> PResult<Fill> {
        let t = self.scan_ignore_ws();
        self.unscan();
        if t.tok != Tok::Ident || !t.lit.eq_ignore_ascii_case("fill") {
            return Ok(Fill::Null);
        }
        let Expr::Call { args, .. } = self.parse_expr()? else {
            return Err(ParseError::plain("fill must be a function call"));
        };
        if args.len() != 1 {
            return Err(ParseError::plain(
                "fill requires an argument, e.g.: 0, null, none, previous, linear",
            ));
        }
        Ok(match args[0].to_string().as_str() {
            "null" => Fill::Null,
            "none" => Fill::None,
            "previous" => Fill::Previous,
            "linear" => Fill::Linear,
            _ => match args[0] {
                Expr::Integer(v) => Fill::Integer(v),
                Expr::Number(v) => Fill::Number(v),
                _ => return Err(ParseError::plain("expected number argument in fill()")),
            },
        })
    }

    pub(crate) fn parse_order_by(&mut self) -> PResult<Vec<SortField>> {
        if self.scan_ignore_ws().tok != Tok::Order {
            self.unscan();
            return Ok(Vec::new());
        }
        let t = self.scan_ignore_ws();
        if t.tok != Tok::By {
            return Err(ParseError::expected(t.text(), &["BY"], t.pos));
        }
        let only_time = || ParseError::plain("only ORDER BY time supported at this time");
        let mut fields = Vec::new();
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Asc | Tok::Desc => fields.push(SortField {
                name: None,
                ascending: t.tok == Tok::Asc,
            }),
            Tok::Ident => {
                self.unscan();
                let field = self.parse_sort_field()?;
                if t.lit != "time" {
                    return Err(only_time());
                }
                fields.push(field);
            }
            _ => {
                return Err(ParseError::expected(
                    t.text(),
                    &["identifier", "ASC", "DESC"],
                    t.pos,
                ))
            }
        }
        loop {
            if self.scan_ignore_ws().tok != Tok::Comma {
                self.unscan();
                break;
            }
            fields.push(self.parse_sort_field()?);
        }
        if fields.len() > 1 {
            return Err(only_time());
        }
        Ok(fields)
    }

    fn parse_sort_field(&mut self) -> PResult<SortField> {
        let name = self.parse_ident()?;
        let t = self.scan_ignore_ws();
        let ascending = match t.tok {
            Tok::Asc => true,
            Tok::Desc => false,
            _ => {
                self.unscan();
                true
            }
        };
        Ok(SortField {
            name: Some(name),
            ascending,
        })
    }

    fn parse_location(&mut self) -> PResult<Option<String>> {
        let t = self.scan_ignore_ws();
        self.unscan();
        if t.tok != Tok::Ident || !t.lit.eq_ignore_ascii_case("tz") {
            return Ok(None);
        }
        let Expr::Call { args, .. } = self.parse_expr()? else {
            return Err(ParseError::plain("tz must be a function call"));
        };
        if args.len() != 1 {
            return Err(ParseError::plain("tz requires exactly one argument"));
        }
        let Expr::String(name) = &args[0] else {
            return Err(ParseError::plain("expected string argument in tz()"));
        };
        if !is_known_zone(name) {
            return Err(ParseError::plain(format!(
                "unable to find time zone {name}"
            )));
        }
        Ok(Some(name.clone()))
    }
}
