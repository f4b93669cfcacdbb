//! The InfluxQL 1.x syntax tree. Shapes follow influxd 1.6.7's `influxql` package closely
//! enough that the query engine can port Go logic one node at a time; `Display` (in
//! `display.rs`) prints each node the way Go's `String()` does.

/// One or more statements separated by `;`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub statements: Vec<Statement>,
}

/// Every statement of InfluxQL 1.x (influxd 1.6.7).
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Box<SelectStatement>),
    Explain {
        analyze: bool,
        statement: Box<SelectStatement>,
    },
    /// `DELETE [FROM m] [WHERE ..]`
    Delete {
        sources: Vec<Source>,
        condition: Option<Expr>,
    },
    DropSeries {
        sources: Vec<Source>,
        condition: Option<Expr>,
    },
    DropMeasurement {
        name: String,
    },
    DropShard {
        id: u64,
    },
    KillQuery {
        id: u64,
        host: Option<String>,
    },
    /// `CREATE DATABASE db [WITH [DURATION d] [REPLICATION n] [SHARD DURATION d] [NAME rp]]`
    CreateDatabase {
        name: String,
        rp: Option<RetentionPolicySpec>,
    },
    DropDatabase {
        name: String,
    },
    CreateRetentionPolicy {
        name: String,
        database: String,
        /// Nanoseconds, 0 = INF.
        duration: i64,
        replication: u32,
        shard_duration: Option<i64>,
        default: bool,
    },
    AlterRetentionPolicy {
        name: String,
        database: String,
        duration: Option<i64>,
        replication: Option<u32>,
        shard_duration: Option<i64>,
        default: bool,
    },
    DropRetentionPolicy {
        name: String,
        database: String,
    },
    CreateUser {
        name: String,
        password: String,
        admin: bool,
    },
    DropUser {
        name: String,
    },
    SetPassword {
        name: String,
        password: String,
    },
    Grant {
        privilege: Privilege,
        database: String,
        user: String,
    },
    GrantAdmin {
        user: String,
    },
    Revoke {
        privilege: Privilege,
        database: String,
        user: String,
    },
    RevokeAdmin {
        user: String,
    },
    CreateContinuousQuery {
        name: String,
        database: String,
        resample_every: Option<i64>,
        resample_for: Option<i64>,
        source: Box<SelectStatement>,
    },
    DropContinuousQuery {
        name: String,
        database: String,
    },
    CreateSubscription {
        name: String,
        database: String,
        retention_policy: String,
        destinations: Vec<String>,
        /// `"ANY"` or `"ALL"`.
        mode: String,
    },
    DropSubscription {
        name: String,
        database: String,
        retention_policy: String,
    },
    ShowDatabases,
    ShowRetentionPolicies {
        database: Option<String>,
    },
    ShowMeasurements {
        database: Option<String>,
        /// `WITH MEASUREMENT =~ /re/` (a regex source) or `WITH MEASUREMENT = name`.
        source: Option<Source>,
        condition: Option<Expr>,
        limit: u64,
        offset: u64,
    },
    ShowSeries {
        database: Option<String>,
        sources: Vec<Source>,
        condition: Option<Expr>,
        limit: u64,
        offset: u64,
    },
    ShowTagKeys {
        database: Option<String>,
        sources: Vec<Source>,
        condition: Option<Expr>,
        limit: u64,
        offset: u64,
        slimit: u64,
        soffset: u64,
    },
    ShowTagValues {
        database: Option<String>,
        sources: Vec<Source>,
        /// `Eq`, `Neq`, `EqRegex` or `NeqRegex`; `IN (..)` becomes `Eq` with several keys.
        op: BinaryOp,
        tag_key: TagKeyExpr,
        condition: Option<Expr>,
        limit: u64,
        offset: u64,
    },
    ShowFieldKeys {
        database: Option<String>,
        sources: Vec<Source>,
        limit: u64,
        offset: u64,
    },
    ShowCardinality {
        what: CardinalityKind,
        exact: bool,
        database: Option<String>,
        sources: Vec<Source>,
        condition: Option<Expr>,
        tag_key: Option<(BinaryOp, TagKeyExpr)>,
        dimensions: Vec<Dimension>,
        limit: u64,
        offset: u64,
    },
    ShowUsers,
    ShowGrants {
        user: String,
    },
    ShowContinuousQueries,
    ShowSubscriptions,
    ShowQueries,
    ShowShards,
    ShowShardGroups,
    ShowStats {
        module: Option<String>,
    },
    ShowDiagnostics {
        module: Option<String>,
    },
}

/// The key(s) of `WITH KEY ...` in `SHOW TAG VALUES` / `SHOW TAG VALUES CARDINALITY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKeyExpr {
    Names(Vec<String>),
    Regex(Regex),
}

/// The `WITH ...` part of `CREATE DATABASE`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionPolicySpec {
    pub name: Option<String>,
    pub duration: Option<i64>,
    pub replication: Option<u32>,
    pub shard_duration: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    Read,
    Write,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardinalityKind {
    Series,
    Measurement,
    TagKey,
    TagValues,
    FieldKey,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectStatement {
    pub fields: Vec<Field>,
    /// `INTO`. A target whose `name` is `None` (and `regex` is `None`) is the
    /// `:MEASUREMENT` back-reference: write into the source measurement's name.
    pub target: Option<Measurement>,
    /// `GROUP BY`.
    pub dimensions: Vec<Dimension>,
    pub sources: Vec<Source>,
    pub condition: Option<Expr>,
    /// `ORDER BY` (only `time` in 1.x).
    pub sort_fields: Vec<SortField>,
    /// 0 = none.
    pub limit: u64,
    pub offset: u64,
    pub slimit: u64,
    pub soffset: u64,
    pub fill: Fill,
    /// `tz('...')`.
    pub location: Option<String>,
}

impl Default for SelectStatement {
    fn default() -> Self {
        SelectStatement {
            fields: Vec::new(),
            target: None,
            dimensions: Vec::new(),
            sources: Vec::new(),
            condition: None,
            sort_fields: Vec::new(),
            limit: 0,
            offset: 0,
            slimit: 0,
            soffset: 0,
            fill: Fill::Null,
            location: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub expr: Expr,
    pub alias: Option<String>,
}

/// One `GROUP BY` term: `time(..)` is `Expr::Call { name: "time", .. }`, tags are
/// `VarRef`s, plus `Wildcard` and `Regex`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Measurement(Measurement),
    Subquery(Box<SelectStatement>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Measurement {
    pub database: Option<String>,
    pub retention_policy: Option<String>,
    pub name: Option<String>,
    pub regex: Option<Regex>,
}

/// A regular expression's pattern as written between the slashes, with `\/` unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Regex(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fill {
    #[default]
    Null,
    None,
    Previous,
    Linear,
    Number(f64),
    Integer(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortField {
    pub name: Option<String>,
    pub ascending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataType {
    #[default]
    Unknown,
    Float,
    Integer,
    Unsigned,
    String,
    Boolean,
    Tag,
    Field,
    Time,
}

/// `*`, `*::field`, `*::tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WildcardKind {
    All,
    Field,
    Tag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    And,
    Or,
    Eq,
    Neq,
    EqRegex,
    NeqRegex,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `field::float`, `host::tag`, `"quoted ident"`.
    VarRef {
        name: String,
        data_type: DataType,
    },
    /// A function call; `name` is lower-cased.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Paren(Box<Expr>),
    Integer(i64),
    Unsigned(u64),
    Number(f64),
    String(String),
    Boolean(bool),
    /// Nanoseconds.
    Duration(i64),
    /// Nanoseconds since the epoch; made by bound parameters and helpers, never by the
    /// parser from text.
    Time(i64),
    Regex(Regex),
    Wildcard(WildcardKind),
    /// `DISTINCT field` (the keyword form).
    Distinct(String),
    /// A `$name` that was not substituted.
    BoundParameter(String),
    Nil,
}

impl BinaryOp {
    /// The operator as written (`+`, `AND`, `=~`…).
    /// `+ - * / % & | ^`: the operators that compute a value rather than compare.
    pub fn is_arithmetic(self) -> bool {
        use BinaryOp::*;
        matches!(self, Add | Sub | Mul | Div | Mod | BitAnd | BitOr | BitXor)
    }

    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
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
            Eq => "=",
            Neq => "!=",
            EqRegex => "=~",
            NeqRegex => "!~",
            Lt => "<",
            Lte => "<=",
            Gt => ">",
            Gte => ">=",
        }
    }

    /// Binding strength, as influxd's `Token.Precedence()`: `OR` 1, `AND` 2,
    /// comparisons 3, `+ - | ^` 4, `* / % &` 5.
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Eq | Neq | EqRegex | NeqRegex | Lt | Lte | Gt | Gte => 3,
            Add | Sub | BitOr | BitXor => 4,
            Mul | Div | Mod | BitAnd => 5,
        }
    }

    /// `=`, `!=`, `=~`, `!~`, `<`, `<=`, `>`, `>=`.
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }
}

impl Expr {
    /// Calls `f` on this expression and every expression inside it, parents first,
    /// left to right.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Expr::Paren(e) => e.walk(f),
            _ => {}
        }
    }

    /// Like [`Expr::walk`], with mutable access (to rewrite in place).
    pub fn walk_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        f(self);
        match self {
            Expr::Call { args, .. } => args.iter_mut().for_each(|a| a.walk_mut(f)),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.walk_mut(f);
                rhs.walk_mut(f);
            }
            Expr::Paren(e) => e.walk_mut(f),
            _ => {}
        }
    }
}
