//! Expressions: precedence climbing as influxd builds its tree, unary terms, calls,
//! variable references and regexes.

use super::{PResult, Parser};
use crate::ast::{BinaryOp, DataType, Expr, Regex, WildcardKind};
use crate::error::ParseError;
use crate::lexer::{is_whitespace, Tok};
use crate::regex::check_regex;
use crate::time::parse_duration_go;

pub(crate) fn binary_op(tok: Tok) -> Option<BinaryOp> {
    Some(match tok {
        Tok::Add => BinaryOp::Add,
        Tok::Sub => BinaryOp::Sub,
        Tok::Mul => BinaryOp::Mul,
        Tok::Div => BinaryOp::Div,
        Tok::Mod => BinaryOp::Mod,
        Tok::BitAnd => BinaryOp::BitAnd,
        Tok::BitOr => BinaryOp::BitOr,
        Tok::BitXor => BinaryOp::BitXor,
        Tok::And => BinaryOp::And,
        Tok::Or => BinaryOp::Or,
        Tok::Eq => BinaryOp::Eq,
        Tok::Neq => BinaryOp::Neq,
        Tok::EqRegex => BinaryOp::EqRegex,
        Tok::NeqRegex => BinaryOp::NeqRegex,
        Tok::Lt => BinaryOp::Lt,
        Tok::Lte => BinaryOp::Lte,
        Tok::Gt => BinaryOp::Gt,
        Tok::Gte => BinaryOp::Gte,
        _ => return None,
    })
}

/// Inserts `op rhs` the way Go's `ParseExpr` does: descend the right spine while the
/// binary node there binds less tightly than `op`, then take that slot as the LHS.
fn insert(slot: &mut Expr, op: BinaryOp, rhs: Expr) {
    if let Expr::Binary {
        op: rop, rhs: rr, ..
    } = slot
    {
        if rop.precedence() < op.precedence() {
            insert(rr, op, rhs);
            return;
        }
    }
    let lhs = std::mem::replace(slot, Expr::Nil);
    *slot = Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    };
}

impl Parser<'_> {
    pub(crate) fn parse_expr(&mut self) -> PResult<Expr> {
        self.nested(Self::parse_expr_here)
    }

    fn parse_expr_here(&mut self) -> PResult<Expr> {
        let mut root = self.parse_unary_expr()?;
        loop {
            let t = self.scan_ignore_ws();
            let Some(op) = binary_op(t.tok) else {
                self.unscan();
                return Ok(root);
            };
            let rhs = if matches!(op, BinaryOp::EqRegex | BinaryOp::NeqRegex) {
                match self.parse_regex()? {
                    Some(re) => Expr::Regex(re),
                    None => {
                        let t = self.scan_ignore_ws();
                        return Err(ParseError::expected(t.text(), &["regex"], t.pos));
                    }
                }
            } else {
                self.parse_unary_expr()?
            };
            insert(&mut root, op, rhs);
        }
    }

    pub(crate) fn parse_unary_expr(&mut self) -> PResult<Expr> {
        if self.scan_ignore_ws().tok == Tok::LParen {
            let expr = self.parse_expr()?;
            let t = self.scan_ignore_ws();
            if t.tok != Tok::RParen {
                return Err(ParseError::expected(t.text(), &[")"], t.pos));
            }
            return Ok(Expr::Paren(Box::new(expr)));
        }
        self.unscan();

        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Ident => {
                if self.scan().tok == Tok::LParen {
                    return self.parse_call(&t.lit);
                }
                self.unscan();
                self.unscan();
                self.parse_var_ref()
            }
            Tok::Distinct => {
                let t0 = self.scan();
                match t0.tok {
                    Tok::LParen => self.parse_call("distinct"),
                    Tok::Ws => {
                        let t1 = self.scan_ignore_ws();
                        if t1.tok != Tok::Ident {
                            return Err(ParseError::expected(t1.text(), &["identifier"], t1.pos));
                        }
                        Ok(Expr::Distinct(t1.lit))
                    }
                    _ => Err(ParseError::expected(
                        t0.text(),
                        &["(", "identifier"],
                        t0.pos,
                    )),
                }
            }
            Tok::Str => Ok(Expr::String(t.lit)),
            Tok::Number => match t.lit.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Expr::Number(v)),
                _ => Err(ParseError::at("unable to parse number", t.pos)),
            },
            Tok::Integer => {
                if let Ok(v) = t.lit.parse::<i64>() {
                    Ok(Expr::Integer(v))
                } else if let Ok(v) = t.lit.parse::<u64>() {
                    Ok(Expr::Unsigned(v))
                } else {
                    Err(ParseError::at("unable to parse integer", t.pos))
                }
            }
            Tok::True => Ok(Expr::Boolean(true)),
            Tok::False => Ok(Expr::Boolean(false)),
            Tok::DurationVal => parse_duration_go(&t.lit)
                .map(Expr::Duration)
                .map_err(ParseError::plain),
            Tok::Mul => {
                let mut kind = WildcardKind::All;
                if self.scan().tok == Tok::DoubleColon {
                    let t = self.scan();
                    kind = match t.tok {
                        Tok::Field => WildcardKind::Field,
                        Tok::Tag => WildcardKind::Tag,
                        _ => return Err(ParseError::expected(t.text(), &["field", "tag"], t.pos)),
                    };
                } else {
                    self.unscan();
                }
                Ok(Expr::Wildcard(kind))
            }
            Tok::Regex => {
                check_regex(&t.lit).map_err(|m| ParseError::at(m, t.pos))?;
                Ok(Expr::Regex(Regex(t.lit)))
            }
            Tok::BoundParam => {
                let k = t.lit.strip_prefix('$').unwrap_or(&t.lit);
                if k.is_empty() {
                    return Err(ParseError::plain("empty bound parameter"));
                }
                match self.params.and_then(|p| p.get(k)) {
                    None => Err(ParseError::plain(format!("missing parameter: {k}"))),
                    Some(super::ParamValue::Error(msg)) => Err(ParseError::plain(msg.clone())),
                    Some(_) => Err(ParseError::plain(format!("missing parameter: {k}"))),
                }
            }
            Tok::Add | Tok::Sub => self.parse_signed(t.tok == Tok::Sub),
            _ => Err(ParseError::expected(
                t.text(),
                &["identifier", "string", "number", "bool"],
                t.pos,
            )),
        }
    }

    fn parse_signed(&mut self, negative: bool) -> PResult<Expr> {
        let t0 = self.scan_ignore_ws();
        match t0.tok {
            Tok::Number | Tok::Integer | Tok::DurationVal | Tok::LParen | Tok::Ident => {}
            _ => {
                return Err(ParseError::expected(
                    t0.text(),
                    &["identifier", "number", "duration", "("],
                    t0.pos,
                ))
            }
        }
        self.unscan();
        let mul: i64 = if negative { -1 } else { 1 };
        Ok(match self.parse_unary_expr()? {
            Expr::Number(v) => Expr::Number(v * mul as f64),
            Expr::Integer(v) => Expr::Integer(v.wrapping_mul(mul)),
            Expr::Unsigned(v) if negative => {
                if v == 1u64 << 63 {
                    Expr::Integer(i64::MIN)
                } else {
                    return Err(ParseError::plain(format!("constant -{v} underflows int64")));
                }
            }
            Expr::Duration(v) => Expr::Duration(v.wrapping_mul(mul)),
            e @ (Expr::VarRef { .. } | Expr::Call { .. } | Expr::Paren(_)) => Expr::Binary {
                op: BinaryOp::Mul,
                lhs: Box::new(Expr::Integer(mul)),
                rhs: Box::new(e),
            },
            e => e,
        })
    }

    /// A `/regex/` if one comes next (after optional whitespace), else `None`.
    pub(crate) fn parse_regex(&mut self) -> PResult<Option<Regex>> {
        if is_whitespace(self.peek_rune()) {
            self.consume_whitespace();
        }
        let next = self.peek_rune();
        if next == '$' {
            // A bound parameter may stand for a regex.
            let t = self.scan();
            self.unscan();
            if t.tok != Tok::Regex {
                return Ok(None);
            }
        } else if next != '/' {
            return Ok(None);
        }
        let t = self.scan_regex();
        match t.tok {
            Tok::BadEscape => Err(ParseError::at(format!("bad escape: {}", t.lit), t.pos)),
            Tok::BadRegex => Err(ParseError::at(format!("bad regex: {}", t.lit), t.pos)),
            Tok::Regex => {
                check_regex(&t.lit).map_err(|m| ParseError::at(m, t.pos))?;
                Ok(Some(Regex(t.lit)))
            }
            _ => Err(ParseError::expected(t.text(), &["regex"], t.pos)),
        }
    }

    /// A call's arguments; the name and `(` have been read.
    fn parse_call(&mut self, name: &str) -> PResult<Expr> {
        // (A wildcard in parentheses is a wildcard: influxd reduces the parentheses away.)
        let name = go_to_lower(name);
        let mut args = Vec::new();
        if let Some(re) = self.parse_regex()? {
            args.push(Expr::Regex(re));
        } else {
            if self.scan().tok == Tok::RParen {
                return Ok(Expr::Call { name, args });
            }
            self.unscan();
            args.push(unparen_wildcard(self.parse_expr()?));
        }
        loop {
            if self.scan_ignore_ws().tok != Tok::Comma {
                self.unscan();
                break;
            }
            if let Some(re) = self.parse_regex()? {
                args.push(Expr::Regex(re));
                continue;
            }
            args.push(unparen_wildcard(self.parse_expr()?));
        }
        let t = self.scan();
        if t.tok != Tok::RParen {
            return Err(ParseError::expected(t.text(), &[")"], t.pos));
        }
        Ok(Expr::Call { name, args })
    }

    pub(crate) fn parse_var_ref(&mut self) -> PResult<Expr> {
        let segments = self.parse_segmented_idents()?;
        let mut data_type = DataType::Unknown;
        if self.scan().tok == Tok::DoubleColon {
            let t = self.scan();
            data_type = match t.tok {
                Tok::Ident => match t.lit.to_ascii_lowercase().as_str() {
                    "float" => DataType::Float,
                    "integer" => DataType::Integer,
                    "unsigned" => DataType::Unsigned,
                    "string" => DataType::String,
                    "boolean" => DataType::Boolean,
                    _ => {
                        return Err(ParseError::expected(
                            t.text(),
                            &[
                                "float", "integer", "unsigned", "string", "boolean", "field", "tag",
                            ],
                            t.pos,
                        ))
                    }
                },
                Tok::Field => DataType::Field,
                Tok::Tag => DataType::Tag,
                _ => {
                    return Err(ParseError::expected(
                        t.text(),
                        &["float", "integer", "string", "boolean", "field", "tag"],
                        t.pos,
                    ))
                }
            };
        } else {
            self.unscan();
        }
        Ok(Expr::VarRef {
            name: segments.join("."),
            data_type,
        })
    }
}

/// Go's `strings.ToLower`: rune by rune, no context rules.
pub(crate) fn go_to_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .collect()
}

/// A field or call argument that is a wildcard in parentheses (`(*)`, `((*::field))`) is
/// the wildcard: influxd reduces parentheses around anything but an operator.
pub(crate) fn unparen_wildcard(e: Expr) -> Expr {
    match e {
        Expr::Paren(inner) => match unparen_wildcard(*inner) {
            w @ Expr::Wildcard(_) => w,
            other => Expr::Paren(Box::new(other)),
        },
        other => other,
    }
}
