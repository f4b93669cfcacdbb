//! `CREATE CONTINUOUS QUERY` (with influxd's checks on its `GROUP BY time()` and
//! `RESAMPLE` durations) and the subscription statements.

use super::select::Target;
use super::{PResult, Parser};
use crate::ast::{Expr, SelectStatement, Statement};
use crate::error::ParseError;
use crate::lexer::Tok;
use crate::time::format_duration;

impl Parser<'_> {
    /// `name ON db.rp` of the subscription statements.
    pub(crate) fn parse_subscription_head(&mut self) -> PResult<(String, String, String)> {
        let name = self.parse_ident()?;
        let database = self.parse_on_ident()?;
        let t = self.scan();
        if t.tok != Tok::Dot {
            return Err(ParseError::expected(t.text(), &["."], t.pos));
        }
        let rp = self.parse_ident()?;
        Ok((name, database, rp))
    }

    pub(crate) fn parse_create_subscription(&mut self) -> PResult<Statement> {
        let (name, database, retention_policy) = self.parse_subscription_head()?;
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Destinations {
            return Err(ParseError::expected(t.text(), &["DESTINATIONS"], t.pos));
        }
        let t = self.scan_ignore_ws();
        let mode = match t.tok {
            Tok::All => "ALL",
            Tok::Any => "ANY",
            _ => return Err(ParseError::expected(t.text(), &["ALL", "ANY"], t.pos)),
        };
        let destinations = self.parse_string_list()?;
        Ok(Statement::CreateSubscription {
            name,
            database,
            retention_policy,
            destinations,
            mode: mode.to_string(),
        })
    }

    pub(crate) fn parse_create_continuous_query(&mut self) -> PResult<Statement> {
        let name = self.parse_ident()?;
        let database = self.parse_on_ident()?;
        let (mut resample_every, mut resample_for) = (None, None);
        if self.accept(Tok::Resample) {
            let (every, for_) = self.parse_resample()?;
            resample_every = every;
            resample_for = for_;
        }
        self.parse_tokens(&[Tok::Begin, Tok::Select])?;
        let source = self.parse_select_statement(Target::Required)?;
        if !is_raw_query(&source) {
            let interval = group_by_interval(&source);
            if !matches!(interval, Ok(d) if d != 0) {
                // influxd rewinds two tokens to name what it found.
                self.unscan();
                self.unscan();
                let t = self.scan_ignore_ws();
                let mut expected = vec!["GROUP BY time(...)"];
                if let Err(e) = &interval {
                    expected.push(e);
                }
                return Err(ParseError::expected(t.text(), &expected, t.pos));
            }
        }
        let t = self.scan_ignore_ws();
        if t.tok != Tok::End {
            return Err(ParseError::expected(t.text(), &["END"], t.pos));
        }
        if let Some(for_) = resample_for {
            let mut interval = group_by_interval(&source).map_err(ParseError::plain)?;
            if let Some(every) = resample_every {
                if every > interval {
                    interval = every;
                }
            }
            if interval > for_ {
                return Err(ParseError::plain(format!(
                    "FOR duration must be >= GROUP BY time duration: must be a minimum of {}, got {}",
                    format_duration(interval),
                    format_duration(for_)
                )));
            }
        }
        Ok(Statement::CreateContinuousQuery {
            name,
            database,
            resample_every,
            resample_for,
            source: Box::new(source),
        })
    }

    /// `RESAMPLE` has been read: `[EVERY d] [FOR d]`, at least one.
    fn parse_resample(&mut self) -> PResult<(Option<i64>, Option<i64>)> {
        let mut every = None;
        if self.accept(Tok::Every) {
            every = Some(self.parse_duration_value()?);
        }
        let mut for_ = None;
        if self.accept(Tok::For) {
            for_ = Some(self.parse_duration_value()?);
        }
        if every.unwrap_or(0) == 0 && for_.unwrap_or(0) == 0 {
            let t = self.scan_ignore_ws();
            return Err(ParseError::expected(t.text(), &["EVERY", "FOR"], t.pos));
        }
        Ok((every.filter(|d| *d != 0), for_.filter(|d| *d != 0)))
    }

    /// A duration literal (no `INF`).
    fn parse_duration_value(&mut self) -> PResult<i64> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::DurationVal {
            return Err(ParseError::expected(t.text(), &["duration"], t.pos));
        }
        crate::time::parse_duration_go(&t.lit).map_err(|e| ParseError::at(e, t.pos))
    }
}

/// Go's `IsRawQuery`: no function call anywhere in the fields.
pub fn is_raw_query(s: &SelectStatement) -> bool {
    let mut raw = true;
    for f in &s.fields {
        f.expr.walk(&mut |e| {
            if matches!(e, Expr::Call { .. }) {
                raw = false;
            }
        });
    }
    raw
}

/// Go's `GroupByInterval`: the duration of `GROUP BY time(d)`, 0 if none.
pub(crate) fn group_by_interval(s: &SelectStatement) -> Result<i64, &'static str> {
    for d in &s.dimensions {
        if let Expr::Call { name, args } = &d.expr {
            if name == "time" {
                if args.is_empty() || args.len() > 2 {
                    return Err("time dimension expected 1 or 2 arguments");
                }
                return match args[0] {
                    Expr::Duration(d) => Ok(d),
                    _ => Err("time dimension must have duration argument"),
                };
            }
        }
    }
    Ok(0)
}
