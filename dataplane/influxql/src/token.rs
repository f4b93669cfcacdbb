//! Tokens, keywords and character classes of InfluxQL (Go's `token.go`).

/// A 0-based position, as Go's `influxql.Pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) char: usize,
}

macro_rules! keywords {
    ($($v:ident => $s:literal,)*) => {
        /// Lexical tokens (Go's `influxql.Token`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::upper_case_acronyms)]
        pub(crate) enum Tok {
            Illegal, Eof, Ws, Comment,
            Ident, BoundParam, Number, Integer, DurationVal, Str, BadString, BadEscape,
            True, False, Regex, BadRegex,
            Add, Sub, Mul, Div, Mod, BitAnd, BitOr, BitXor,
            And, Or, In,
            Eq, Neq, EqRegex, NeqRegex, Lt, Lte, Gt, Gte,
            LParen, RParen, Comma, Colon, DoubleColon, Semicolon, Dot,
            $($v,)*
        }

        const KEYWORDS: &[(&str, Tok)] = &[$(($s, Tok::$v),)*];
    };
}

keywords! {
    All => "ALL", Alter => "ALTER", Analyze => "ANALYZE", Any => "ANY", As => "AS",
    Asc => "ASC", Begin => "BEGIN", By => "BY", Cardinality => "CARDINALITY",
    Create => "CREATE", Continuous => "CONTINUOUS", Database => "DATABASE",
    Databases => "DATABASES", Default => "DEFAULT", Delete => "DELETE", Desc => "DESC",
    Destinations => "DESTINATIONS", Diagnostics => "DIAGNOSTICS", Distinct => "DISTINCT",
    Drop => "DROP", Duration => "DURATION", End => "END", Every => "EVERY", Exact => "EXACT",
    Explain => "EXPLAIN", Field => "FIELD", For => "FOR", From => "FROM", Grant => "GRANT",
    Grants => "GRANTS", Group => "GROUP", Groups => "GROUPS", Inf => "INF", Insert => "INSERT",
    Into => "INTO", Key => "KEY", Keys => "KEYS", Kill => "KILL", Limit => "LIMIT",
    Measurement => "MEASUREMENT", Measurements => "MEASUREMENTS", Name => "NAME",
    Offset => "OFFSET", On => "ON", Order => "ORDER", Password => "PASSWORD",
    Policy => "POLICY", Policies => "POLICIES", Privileges => "PRIVILEGES",
    Queries => "QUERIES", Query => "QUERY", Read => "READ", Replication => "REPLICATION",
    Resample => "RESAMPLE", Retention => "RETENTION", Revoke => "REVOKE", Select => "SELECT",
    Series => "SERIES", Set => "SET", Show => "SHOW", Shard => "SHARD", Shards => "SHARDS",
    Slimit => "SLIMIT", Soffset => "SOFFSET", Stats => "STATS", Subscription => "SUBSCRIPTION",
    Subscriptions => "SUBSCRIPTIONS", Tag => "TAG", To => "TO", User => "USER",
    Users => "USERS", Values => "VALUES", Where => "WHERE", With => "WITH", Write => "WRITE",
}

impl Tok {
    /// Go's `Token.String()`.
    pub(crate) fn name(self) -> &'static str {
        use Tok::*;
        match self {
            Illegal => "ILLEGAL",
            Eof => "EOF",
            Ws => "WS",
            // Go's table has no entry for these: they print as "".
            Comment | BoundParam | Integer | BadRegex => "",
            Ident => "IDENT",
            Number => "NUMBER",
            DurationVal => "DURATIONVAL",
            Str => "STRING",
            BadString => "BADSTRING",
            BadEscape => "BADESCAPE",
            True => "TRUE",
            False => "FALSE",
            Regex => "REGEX",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            And => "AND",
            Or => "OR",
            In => "IN",
            Eq => "=",
            Neq => "!=",
            EqRegex => "=~",
            NeqRegex => "!~",
            Lt => "<",
            Lte => "<=",
            Gt => ">",
            Gte => ">=",
            LParen => "(",
            RParen => ")",
            Comma => ",",
            Colon => ":",
            DoubleColon => "::",
            Semicolon => ";",
            Dot => ".",
            kw => KEYWORDS
                .iter()
                .find(|(_, t)| *t == kw)
                .map(|(s, _)| *s)
                .unwrap_or(""),
        }
    }
}

/// Go's `Lookup`: keywords are case-insensitive; `true`/`false` and the operators
/// `AND`/`OR`/`IN` are words too.
pub(crate) fn lookup(ident: &str) -> Tok {
    if ident.len() > 13 {
        return Tok::Ident;
    }
    let upper = ident.to_ascii_uppercase();
    match upper.as_str() {
        "AND" => return Tok::And,
        "OR" => return Tok::Or,
        "IN" => return Tok::In,
        "TRUE" => return Tok::True,
        "FALSE" => return Tok::False,
        _ => {}
    }
    // Go lower-cases with Unicode rules; only ASCII letters can match a keyword, but a
    // non-ASCII letter must not be folded into one (e.g. the Kelvin sign).
    if !ident.is_ascii() {
        return Tok::Ident;
    }
    KEYWORDS
        .iter()
        .find(|(s, _)| *s == upper)
        .map(|(_, t)| *t)
        .unwrap_or(Tok::Ident)
}

/// Go's scanner uses rune 0 as its end-of-input marker, so a NUL in the text behaves the
/// same way.
pub(crate) const EOF: char = '\0';

pub(crate) fn is_whitespace(ch: char) -> bool {
    ch == ' ' || ch == '\t' || ch == '\n'
}
pub(crate) fn is_letter(ch: char) -> bool {
    ch.is_ascii_alphabetic()
}
pub(crate) fn is_digit(ch: char) -> bool {
    ch.is_ascii_digit()
}
pub(crate) fn is_ident_char(ch: char) -> bool {
    is_letter(ch) || is_digit(ch) || ch == '_'
}
pub(crate) fn is_ident_first_char(ch: char) -> bool {
    is_letter(ch) || ch == '_'
}
