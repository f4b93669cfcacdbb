//! `Display` for the AST, printing what influxd's `String()` methods print: identifiers
//! quoted only when needed, `::type` suffixes, durations in their largest exact unit,
//! floats with three decimals, passwords redacted.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;
use crate::lexer::{is_ident_char, is_ident_first_char, lookup, Tok};
use crate::time::format_duration;

/// Whether an identifier must be written in double quotes (a keyword, empty, or not
/// `[A-Za-z_][A-Za-z0-9_]*`).
pub fn ident_needs_quotes(ident: &str) -> bool {
    if lookup(ident) != Tok::Ident {
        return true;
    }
    let mut chars = ident.chars();
    match chars.next() {
        None => false,
        Some(c) if !is_ident_first_char(c) => true,
        Some(_) => chars.any(|c| !is_ident_char(c)),
    }
}

fn escape_into(out: &mut String, s: &str, quote: char) {
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// An identifier as InfluxQL writes it: bare when it can be, else `"quoted"`.
pub fn quote_ident(ident: &str) -> String {
    quote_segments(&[ident])
}

/// Dot-joined segments as Go's `QuoteIdent(segments...)`: every segment but an empty
/// middle one is quoted when not last, so `db..m` stays readable.
pub(crate) fn quote_segments<S: AsRef<str>>(segments: &[S]) -> String {
    let mut out = String::new();
    let n = segments.len();
    for (i, seg) in segments.iter().enumerate() {
        let seg = seg.as_ref();
        let quote = ident_needs_quotes(seg)
            || (i < n - 1 && !seg.is_empty())
            || ((i == 0 || i == n - 1) && seg.is_empty());
        if quote {
            out.push('"');
        }
        escape_into(&mut out, seg, '"');
        if quote {
            out.push('"');
        }
        if i < n - 1 {
            out.push('.');
        }
    }
    out
}

/// A string literal: `'…'` with `\`, `'` and newlines escaped.
pub fn quote_string(s: &str) -> String {
    let mut out = String::from("'");
    escape_into(&mut out, s, '\'');
    out.push('\'');
    out
}

/// Go's `%v` for a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`): the shortest
/// round-trip digits, in exponent form when the decimal exponent is below -4 or at
/// least the precision Go picks (6, or the digit count when that is smaller and covers
/// the integer part), e.g. `1e+06`, `123456`, `1.5`.
pub(crate) fn go_format_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits and decimal exponent from Rust's `{:e}`.
    let e = format!("{:e}", v.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let nd = digits.len() as i32;
    let mut eprec = 6;
    let dp = exp + 1;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let mut m = digits[..1].to_string();
        if nd > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let (es, ea) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        return format!("{sign}{m}e{es}{ea:02}");
    }
    if dp <= 0 {
        format!("{sign}0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp >= nd {
        format!("{sign}{}{}", digits, "0".repeat((dp - nd) as usize))
    } else {
        format!(
            "{sign}{}.{}",
            &digits[..dp as usize],
            &digits[dp as usize..]
        )
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, s) in self.statements.iter().enumerate() {
            if i > 0 {
                f.write_str(";\n")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl Display for DataType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataType::Unknown => "unknown",
            DataType::Float => "float",
            DataType::Integer => "integer",
            DataType::Unsigned => "unsigned",
            DataType::String => "string",
            DataType::Boolean => "boolean",
            DataType::Tag => "tag",
            DataType::Field => "field",
            DataType::Time => "time",
        })
    }
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Display for Regex {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.0.replace('/', "\\/"))
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::VarRef { name, data_type } => {
                f.write_str(&quote_ident(name))?;
                if *data_type != DataType::Unknown {
                    write!(f, "::{data_type}")?;
                }
                Ok(())
            }
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Binary { op, lhs, rhs } => write!(f, "{lhs} {op} {rhs}"),
            Expr::Paren(e) => write!(f, "({e})"),
            Expr::Integer(v) => write!(f, "{v}"),
            Expr::Unsigned(v) => write!(f, "{v}"),
            Expr::Number(v) => write!(f, "{v:.3}"),
            Expr::String(s) => f.write_str(&quote_string(s)),
            Expr::Boolean(b) => write!(f, "{b}"),
            Expr::Duration(d) => f.write_str(&format_duration(*d)),
            Expr::Time(t) => write!(f, "'{}'", format_rfc3339_nano(*t)),
            Expr::Regex(r) => write!(f, "{r}"),
            Expr::Wildcard(WildcardKind::All) => f.write_str("*"),
            Expr::Wildcard(WildcardKind::Field) => f.write_str("*::field"),
            Expr::Wildcard(WildcardKind::Tag) => f.write_str("*::tag"),
            Expr::Distinct(v) => write!(f, "DISTINCT {v}"),
            Expr::BoundParameter(n) => write!(f, "${}", quote_ident(n)),
            Expr::Nil => f.write_str("nil"),
        }
    }
}

/// Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction dropped.
pub fn format_rfc3339_nano(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Display for Measurement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(db) = &self.database {
            write!(f, "{}.", quote_ident(db))?;
        }
        if let Some(rp) = &self.retention_policy {
            f.write_str(&quote_ident(rp))?;
        }
        if self.database.is_some() || self.retention_policy.is_some() {
            f.write_str(".")?;
        }
        if let Some(name) = &self.name {
            f.write_str(&quote_ident(name))?;
        } else if let Some(re) = &self.regex {
            write!(f, "{re}")?;
        }
        Ok(())
    }
}

impl Display for Source {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Source::Measurement(m) => write!(f, "{m}"),
            Source::Subquery(s) => write!(f, "({s})"),
        }
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if let Some(a) = &self.alias {
            write!(f, " AS {}", quote_ident(a))?;
        }
        Ok(())
    }
}

impl Display for Dimension {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

impl Display for SortField {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(n) = &self.name {
            write!(f, "{n} ")?;
        }
        f.write_str(if self.ascending { "ASC" } else { "DESC" })
    }
}

impl Display for Privilege {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Privilege::Read => "READ",
            Privilege::Write => "WRITE",
            Privilege::All => "ALL PRIVILEGES",
        })
    }
}

impl Display for TagKeyExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TagKeyExpr::Regex(r) => write!(f, "{r}"),
            TagKeyExpr::Names(names) if names.len() == 1 => f.write_str(&quote_ident(&names[0])),
            TagKeyExpr::Names(names) => {
                f.write_str("(")?;
                f.write_str(&join(names.iter().map(|n| quote_ident(n))))?;
                f.write_str(")")
            }
        }
    }
}

pub(crate) fn join<I: IntoIterator<Item = T>, T: Display>(items: I) -> String {
    let mut out = String::new();
    for (i, it) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{it}");
    }
    out
}

/// ` LIMIT n` / ` OFFSET n`… for non-zero values.
pub(crate) fn opt_num(f: &mut Formatter<'_>, word: &str, n: u64) -> fmt::Result {
    if n > 0 {
        write!(f, " {word} {n}")?;
    }
    Ok(())
}

pub(crate) fn on_db(f: &mut Formatter<'_>, db: &Option<String>) -> fmt::Result {
    if let Some(db) = db {
        write!(f, " ON {}", quote_ident(db))?;
    }
    Ok(())
}

pub(crate) fn from_sources(f: &mut Formatter<'_>, sources: &[Source]) -> fmt::Result {
    if !sources.is_empty() {
        write!(f, " FROM {}", join(sources))?;
    }
    Ok(())
}

pub(crate) fn where_cond(f: &mut Formatter<'_>, cond: &Option<Expr>) -> fmt::Result {
    if let Some(c) = cond {
        write!(f, " WHERE {c}")?;
    }
    Ok(())
}

pub(crate) fn group_by(f: &mut Formatter<'_>, dims: &[Dimension]) -> fmt::Result {
    if !dims.is_empty() {
        write!(f, " GROUP BY {}", join(dims))?;
    }
    Ok(())
}

impl Display for SelectStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT {}", join(&self.fields))?;
        if let Some(t) = &self.target {
            write!(f, " INTO {t}")?;
            if t.name.is_none() && t.regex.is_none() {
                f.write_str(":MEASUREMENT")?;
            }
        }
        from_sources(f, &self.sources)?;
        where_cond(f, &self.condition)?;
        group_by(f, &self.dimensions)?;
        match self.fill {
            Fill::Null => {}
            Fill::None => f.write_str(" fill(none)")?,
            Fill::Previous => f.write_str(" fill(previous)")?,
            Fill::Linear => f.write_str(" fill(linear)")?,
            Fill::Integer(v) => write!(f, " fill({v})")?,
            Fill::Number(v) => write!(f, " fill({})", go_format_g(v))?,
        }
        if !self.sort_fields.is_empty() {
            write!(f, " ORDER BY {}", join(&self.sort_fields))?;
        }
        opt_num(f, "LIMIT", self.limit)?;
        opt_num(f, "OFFSET", self.offset)?;
        opt_num(f, "SLIMIT", self.slimit)?;
        opt_num(f, "SOFFSET", self.soffset)?;
        if let Some(tz) = &self.location {
            // Go prints the zone name; the empty name loads as UTC.
            let name = if tz.is_empty() { "UTC" } else { tz };
            write!(f, " TZ('{name}')")?;
        }
        Ok(())
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        crate::display_stmt::fmt_statement(self, f)
    }
}
