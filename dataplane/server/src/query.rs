//! `/query` for the statements clients and benchmarks need to set up, until the InfluxQL
//! engine lands: `CREATE DATABASE … [WITH DURATION … REPLICATION … SHARD DURATION … NAME …]`,
//! `DROP DATABASE`, `CREATE/ALTER/DROP RETENTION POLICY`, `SHOW DATABASES` and
//! `SHOW RETENTION POLICIES`. Answers have InfluxDB's shape: `{"results":[{"statement_id":0,…}]}`.
//! Other statements get an error result naming what is not supported yet.

use serde_json::{json, Value};
use tessera_meta_types::{duration, Command, RetentionPolicySpec};

use crate::handlers::{error_json, Ctx};
use crate::http::{Request, Response};
use crate::meta_sync::ExecuteError;

pub async fn query(req: &Request, ctx: &Ctx) -> Response {
    let mut q = req.head.query_decoded("q");
    if q.is_none() && req.head.method == "POST" {
        let form = String::from_utf8_lossy(&req.body).to_string();
        q = crate::http::form_value(&form, "q");
    }
    let Some(q) = q.filter(|q| !q.trim().is_empty()) else {
        return error_json(400, "missing required parameter \"q\"");
    };
    let db_param = req.head.query_decoded("db").unwrap_or_default();
    let statements = match parse(&q) {
        Ok(s) => s,
        Err(e) => return error_json(400, &format!("error parsing query: {e}")),
    };
    let mut results = Vec::new();
    for (i, st) in statements.into_iter().enumerate() {
        let mut r = match run(st, &db_param, ctx).await {
            Ok(v) => v,
            Err(e) => json!({ "error": e }),
        };
        r.as_object_mut()
            .expect("results are objects")
            .insert("statement_id".into(), json!(i));
        results.push(r);
    }
    let body = json!({ "results": results });
    Response::json(200, body.to_string().into_bytes())
}

#[derive(Debug, PartialEq)]
enum Statement {
    CreateDatabase(String, Option<RetentionPolicySpec>),
    DropDatabase(String),
    CreateRp {
        spec: RetentionPolicySpec,
        db: String,
        default: bool,
    },
    AlterRp {
        name: String,
        db: String,
        spec: RetentionPolicySpec,
        default: bool,
    },
    DropRp(String, String),
    ShowDatabases,
    ShowRps(Option<String>),
    Unsupported(String),
}

async fn run(st: Statement, db_param: &str, ctx: &Ctx) -> Result<Value, String> {
    let exec = |c: Command| async move {
        ctx.execute(c)
            .await
            .map(|_| json!({}))
            .map_err(|e| match e {
                ExecuteError::Refused(m) => m,
                other => other.to_string(),
            })
    };
    match st {
        Statement::CreateDatabase(name, rp) => {
            exec(Command::CreateDatabase {
                name,
                retention_policy: rp,
            })
            .await
        }
        Statement::DropDatabase(name) => exec(Command::DropDatabase { name }).await,
        Statement::CreateRp { spec, db, default } => {
            exec(Command::CreateRetentionPolicy {
                database: db,
                policy: spec,
                make_default: default,
            })
            .await
        }
        Statement::AlterRp {
            name,
            db,
            spec,
            default,
        } => {
            exec(Command::UpdateRetentionPolicy {
                database: db,
                name,
                policy: spec,
                make_default: default,
            })
            .await
        }
        Statement::DropRp(name, db) => {
            exec(Command::DropRetentionPolicy { database: db, name }).await
        }
        Statement::ShowDatabases => {
            let state = ctx.state.state();
            let names: Vec<Value> = state
                .snapshot
                .as_ref()
                .map(|s| s.data.databases.keys().map(|n| json!([n])).collect())
                .unwrap_or_default();
            let mut series = json!({"name": "databases", "columns": ["name"]});
            if !names.is_empty() {
                series["values"] = json!(names);
            }
            Ok(json!({ "series": [series] }))
        }
        Statement::ShowRps(db) => {
            let db = db.unwrap_or_else(|| db_param.to_string());
            if db.is_empty() {
                return Err("database name required".into());
            }
            let state = ctx.state.state();
            let Some(d) = state
                .snapshot
                .as_ref()
                .and_then(|s| s.data.database(&db).cloned())
            else {
                return Err(format!("database not found: {db}"));
            };
            let values: Vec<Value> = d
                .retention_policies
                .values()
                .map(|rp| {
                    json!([
                        rp.name,
                        duration::format(rp.duration),
                        duration::format(rp.shard_group_duration),
                        rp.replica_n,
                        rp.name == d.default_retention_policy
                    ])
                })
                .collect();
            Ok(json!({ "series": [{
                "columns": ["name", "duration", "shardGroupDuration", "replicaN", "default"],
                "values": values
            }]}))
        }
        Statement::Unsupported(what) => Err(format!("{what} is not supported yet")),
    }
}

/// Tokens of the statements this module understands.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Ident(String),
    Num(String),
    Semi,
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = q.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b';' {
            out.push(Tok::Semi);
            i += 1;
        } else if c == b'"' {
            let mut s = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(format!("unexpected end of quoted identifier at {i}")),
                    Some(b'\\') if i + 1 < b.len() => {
                        s.push(b[i + 1]);
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Ident(String::from_utf8_lossy(&s).to_string()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Num(q[start..i].to_string()));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Word(q[start..i].to_string()));
        } else if c == b'\'' {
            // A string literal: kept whole (statements with them are not handled here yet).
            let start = i;
            i += 1;
            while i < b.len() && !(b[i] == b'\'' && b[i - 1] != b'\\') {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push(Tok::Word(q[start..i].to_string()));
        } else {
            // Punctuation and anything else: one character per token.
            let ch = q[i..].chars().next().expect("i is on a char boundary");
            out.push(Tok::Word(ch.to_string()));
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
}

impl P {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    fn kw(&mut self, kw: &str) -> Result<(), String> {
        if self.peek_kw(kw) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "found {}, expected {}",
                self.found(),
                kw.to_uppercase()
            ))
        }
    }
    fn found(&self) -> String {
        match self.toks.get(self.pos) {
            None => "EOF".into(),
            Some(Tok::Word(w) | Tok::Ident(w) | Tok::Num(w)) => w.clone(),
            Some(Tok::Semi) => ";".into(),
        }
    }
    fn ident(&mut self) -> Result<String, String> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w) | Tok::Ident(w)) => {
                self.pos += 1;
                Ok(w.clone())
            }
            _ => Err(format!("found {}, expected identifier", self.found())),
        }
    }
    fn duration(&mut self) -> Result<u64, String> {
        let raw = match self.toks.get(self.pos) {
            Some(Tok::Num(n)) => n.clone(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("inf") => {
                self.pos += 1;
                return Ok(0);
            }
            _ => return Err(format!("found {}, expected duration", self.found())),
        };
        self.pos += 1;
        influxql_duration(&raw).ok_or_else(|| format!("invalid duration {raw}"))
    }
    fn int(&mut self) -> Result<u32, String> {
        match self.toks.get(self.pos) {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                n.parse()
                    .map_err(|_| format!("found {n}, expected integer"))
            }
            _ => Err(format!("found {}, expected integer", self.found())),
        }
    }
    fn rp_options(
        &mut self,
        spec: &mut RetentionPolicySpec,
        allow_name: bool,
    ) -> Result<bool, String> {
        let mut default = false;
        loop {
            if self.peek_kw("duration") {
                self.pos += 1;
                spec.duration = Some(self.duration()?);
            } else if self.peek_kw("replication") {
                self.pos += 1;
                spec.replica_n = Some(self.int()?);
            } else if self.peek_kw("shard") {
                self.pos += 1;
                self.kw("duration")?;
                spec.shard_group_duration = Some(self.duration()?);
            } else if allow_name && self.peek_kw("name") {
                self.pos += 1;
                spec.name = self.ident()?;
            } else if self.peek_kw("default") {
                self.pos += 1;
                default = true;
            } else {
                return Ok(default);
            }
        }
    }
}

/// InfluxQL duration literals: `u`/`µ`, `ms`, `s`, `m`, `h`, `d`, `w`.
fn influxql_duration(raw: &str) -> Option<u64> {
    let split = raw.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = raw.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult: u64 = match unit {
        "ns" => 1,
        "u" | "µ" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        "w" => 604_800_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse(q: &str) -> Result<Vec<Statement>, String> {
    let mut p = P {
        toks: tokenize(q)?,
        pos: 0,
    };
    let mut out = Vec::new();
    while p.pos < p.toks.len() {
        if p.toks[p.pos] == Tok::Semi {
            p.pos += 1;
            continue;
        }
        out.push(statement(&mut p)?);
        match p.toks.get(p.pos) {
            None | Some(Tok::Semi) => {}
            Some(_) => return Err(format!("found {}, expected ;", p.found())),
        }
    }
    if out.is_empty() {
        return Err("found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1".into());
    }
    Ok(out)
}

fn statement(p: &mut P) -> Result<Statement, String> {
    if p.peek_kw("create") {
        p.pos += 1;
        if p.peek_kw("database") {
            p.pos += 1;
            let name = p.ident()?;
            if p.peek_kw("with") {
                p.pos += 1;
                let mut spec = RetentionPolicySpec {
                    name: "autogen".into(),
                    ..Default::default()
                };
                p.rp_options(&mut spec, true)?;
                return Ok(Statement::CreateDatabase(name, Some(spec)));
            }
            return Ok(Statement::CreateDatabase(name, None));
        }
        p.kw("retention")?;
        p.kw("policy")?;
        let name = p.ident()?;
        p.kw("on")?;
        let db = p.ident()?;
        let mut spec = RetentionPolicySpec {
            name,
            ..Default::default()
        };
        let default = p.rp_options(&mut spec, false)?;
        if spec.duration.is_none() {
            return Err(format!("found {}, expected DURATION", p.found()));
        }
        if spec.replica_n.is_none() {
            return Err(format!("found {}, expected REPLICATION", p.found()));
        }
        return Ok(Statement::CreateRp { spec, db, default });
    }
    if p.peek_kw("alter") {
        p.pos += 1;
        p.kw("retention")?;
        p.kw("policy")?;
        let name = p.ident()?;
        p.kw("on")?;
        let db = p.ident()?;
        let mut spec = RetentionPolicySpec::default();
        let default = p.rp_options(&mut spec, false)?;
        return Ok(Statement::AlterRp {
            name,
            db,
            spec,
            default,
        });
    }
    if p.peek_kw("drop") {
        p.pos += 1;
        if p.peek_kw("database") {
            p.pos += 1;
            return Ok(Statement::DropDatabase(p.ident()?));
        }
        if p.peek_kw("retention") {
            p.pos += 1;
            p.kw("policy")?;
            let name = p.ident()?;
            p.kw("on")?;
            return Ok(Statement::DropRp(name, p.ident()?));
        }
    }
    if p.peek_kw("show") {
        p.pos += 1;
        if p.peek_kw("databases") {
            p.pos += 1;
            return Ok(Statement::ShowDatabases);
        }
        if p.peek_kw("retention") {
            p.pos += 1;
            p.kw("policies")?;
            if p.peek_kw("on") {
                p.pos += 1;
                return Ok(Statement::ShowRps(Some(p.ident()?)));
            }
            return Ok(Statement::ShowRps(None));
        }
    }
    // Everything else waits for the InfluxQL engine: skip to the end of the statement.
    let start = p.pos;
    while p.pos < p.toks.len() && p.toks[p.pos] != Tok::Semi {
        p.pos += 1;
    }
    let words: Vec<String> = p.toks[start..p.pos.min(start + 2)]
        .iter()
        .map(|t| match t {
            Tok::Word(w) | Tok::Ident(w) | Tok::Num(w) => w.to_uppercase(),
            Tok::Semi => String::new(),
        })
        .collect();
    Ok(Statement::Unsupported(words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_setup_statements() {
        let s = parse("CREATE DATABASE \"my db\" WITH DURATION 7d REPLICATION 2 SHARD DURATION 1h NAME week; drop database x").unwrap();
        assert_eq!(
            s[0],
            Statement::CreateDatabase(
                "my db".into(),
                Some(RetentionPolicySpec {
                    name: "week".into(),
                    duration: Some(7 * 86_400_000_000_000),
                    shard_group_duration: Some(3_600_000_000_000),
                    replica_n: Some(2),
                })
            )
        );
        assert_eq!(s[1], Statement::DropDatabase("x".into()));
        let s =
            parse("create retention policy rp on db duration inf replication 1 default").unwrap();
        assert!(matches!(&s[0], Statement::CreateRp { default: true, .. }));
        assert!(parse("create retention policy rp on db replication 1").is_err());
        assert!(parse("").is_err());
        assert!(matches!(
            parse("SELECT * FROM cpu").unwrap()[0],
            Statement::Unsupported(_)
        ));
    }
}
