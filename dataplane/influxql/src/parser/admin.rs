//! Statements that manage the cluster: databases, retention policies, users, grants,
//! continuous queries, subscriptions, shards, queries; and `DELETE`, `DROP SERIES`,
//! `EXPLAIN`. Continuous queries and subscriptions are in `continuous`.

use super::select::Target;
use super::{PResult, Parser};
use crate::ast::{Expr, Privilege, RetentionPolicySpec, Source, Statement};
use crate::error::ParseError;
use crate::lexer::Tok;

/// influxd's replication factor bound (`math.MaxInt32`).
const MAX_REPLICATION: i64 = i32::MAX as i64;

impl Parser<'_> {
    pub(crate) fn parse_create_statement(&mut self) -> PResult<Statement> {
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Continuous => {
                self.expect_words(&[(Tok::Query, "QUERY")])?;
                self.parse_create_continuous_query()
            }
            Tok::Database => self.parse_create_database(),
            Tok::User => self.parse_create_user(),
            Tok::Retention => {
                self.expect_words(&[(Tok::Policy, "POLICY")])?;
                self.parse_create_retention_policy()
            }
            Tok::Subscription => self.parse_create_subscription(),
            _ => Err(ParseError::expected(
                t.text(),
                &[
                    "CONTINUOUS",
                    "DATABASE",
                    "USER",
                    "RETENTION",
                    "SUBSCRIPTION",
                ],
                t.pos,
            )),
        }
    }

    pub(crate) fn parse_drop_statement(&mut self) -> PResult<Statement> {
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Continuous => {
                self.expect_words(&[(Tok::Query, "QUERY")])?;
                let name = self.parse_ident()?;
                let database = self.parse_on_ident()?;
                Ok(Statement::DropContinuousQuery { name, database })
            }
            Tok::Database => Ok(Statement::DropDatabase {
                name: self.parse_ident()?,
            }),
            Tok::Measurement => Ok(Statement::DropMeasurement {
                name: self.parse_ident()?,
            }),
            Tok::Retention => {
                self.expect_words(&[(Tok::Policy, "POLICY")])?;
                let name = self.parse_ident()?;
                let database = self.parse_on_ident()?;
                Ok(Statement::DropRetentionPolicy { name, database })
            }
            Tok::Series => {
                let (sources, condition) = self.parse_delete_like()?;
                Ok(Statement::DropSeries { sources, condition })
            }
            Tok::Shard => Ok(Statement::DropShard {
                id: self.parse_uint64()?,
            }),
            Tok::Subscription => {
                let (name, database, retention_policy) = self.parse_subscription_head()?;
                Ok(Statement::DropSubscription {
                    name,
                    database,
                    retention_policy,
                })
            }
            Tok::User => Ok(Statement::DropUser {
                name: self.parse_ident()?,
            }),
            _ => Err(ParseError::expected(
                t.text(),
                &[
                    "CONTINUOUS",
                    "DATABASE",
                    "MEASUREMENT",
                    "RETENTION",
                    "SERIES",
                    "SHARD",
                    "SUBSCRIPTION",
                    "USER",
                ],
                t.pos,
            )),
        }
    }

    /// The required `ON ident`.
    pub(crate) fn parse_on_ident(&mut self) -> PResult<String> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::On {
            return Err(ParseError::expected(t.text(), &["ON"], t.pos));
        }
        self.parse_ident()
    }

    pub(crate) fn parse_delete_statement(&mut self) -> PResult<Statement> {
        let (sources, condition) = self.parse_delete_like()?;
        Ok(Statement::Delete { sources, condition })
    }

    /// `[FROM sources] [WHERE cond]`, at least one of them.
    fn parse_delete_like(&mut self) -> PResult<(Vec<Source>, Option<Expr>)> {
        let t = self.scan_ignore_ws();
        let mut sources = Vec::new();
        let mut has_from = false;
        if t.tok == Tok::From {
            has_from = true;
            sources = self.parse_sources(false)?;
            let mut err = None;
            for s in &sources {
                if let Source::Measurement(m) = s {
                    if m.database.is_some() {
                        err = Some("database not supported");
                    }
                    if m.retention_policy.is_some() {
                        err = Some("retention policy not supported");
                    }
                }
            }
            if let Some(msg) = err {
                // influxd builds these without a position: line 1, char 1.
                return Err(ParseError {
                    message: msg.to_string(),
                    line: 1,
                    char: 1,
                });
            }
        } else {
            self.unscan();
        }
        let condition = self.parse_condition()?;
        if condition.is_none() && !has_from {
            return Err(ParseError::expected(t.text(), &["FROM", "WHERE"], t.pos));
        }
        Ok((sources, condition))
    }

    pub(crate) fn parse_explain_statement(&mut self) -> PResult<Statement> {
        let analyze = self.accept(Tok::Analyze);
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Select {
            return Err(ParseError::expected(t.text(), &["SELECT"], t.pos));
        }
        let statement = Box::new(self.parse_select_statement(Target::NotRequired)?);
        Ok(Statement::Explain { analyze, statement })
    }

    fn parse_create_database(&mut self) -> PResult<Statement> {
        let name = self.parse_ident()?;
        if !self.accept(Tok::With) {
            return Ok(Statement::CreateDatabase { name, rp: None });
        }
        let t = self.scan_ignore_ws();
        if !matches!(
            t.tok,
            Tok::Duration | Tok::Name | Tok::Replication | Tok::Shard
        ) {
            return Err(ParseError::expected(
                t.text(),
                &["DURATION", "NAME", "REPLICATION", "SHARD"],
                t.pos,
            ));
        }
        self.unscan();
        let mut rp = RetentionPolicySpec::default();
        if self.accept(Tok::Duration) {
            rp.duration = Some(self.parse_duration_arg()?);
        }
        if self.accept(Tok::Replication) {
            rp.replication = Some(self.parse_int(1, MAX_REPLICATION)? as u32);
        }
        if self.accept(Tok::Shard) {
            let t = self.scan_ignore_ws();
            if t.tok != Tok::Duration {
                return Err(ParseError::expected(t.text(), &["DURATION"], t.pos));
            }
            let d = self.parse_duration_arg()?;
            // influxd prints (and applies) a shard duration only when it is positive.
            rp.shard_duration = Some(d).filter(|d| *d > 0);
        }
        if self.accept(Tok::Name) {
            rp.name = Some(self.parse_ident()?);
        }
        Ok(Statement::CreateDatabase { name, rp: Some(rp) })
    }

    fn parse_create_retention_policy(&mut self) -> PResult<Statement> {
        let name = self.parse_ident()?;
        let database = self.parse_on_ident()?;
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Duration {
            return Err(ParseError::expected(t.text(), &["DURATION"], t.pos));
        }
        let duration = self.parse_duration_arg()?;
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Replication {
            return Err(ParseError::expected(t.text(), &["REPLICATION"], t.pos));
        }
        let replication = self.parse_int(1, MAX_REPLICATION)? as u32;
        let mut shard_duration = None;
        if self.accept(Tok::Shard) {
            shard_duration = Some(self.parse_shard_duration()?).filter(|d| *d > 0);
        }
        let default = self.accept(Tok::Default);
        Ok(Statement::CreateRetentionPolicy {
            name,
            database,
            duration,
            replication,
            shard_duration,
            default,
        })
    }

    /// `DURATION d` after `SHARD`; `INF` is refused.
    fn parse_shard_duration(&mut self) -> PResult<i64> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Duration {
            return Err(ParseError::expected(t.text(), &["DURATION"], t.pos));
        }
        let t = self.scan_ignore_ws();
        if t.tok == Tok::Inf {
            return Err(ParseError::at(
                "invalid duration INF for shard duration",
                t.pos,
            ));
        }
        self.unscan();
        self.parse_duration_arg()
    }

    pub(crate) fn parse_alter_retention_policy_statement(&mut self) -> PResult<Statement> {
        let t = self.scan_ignore_ws();
        let name = match t.tok {
            Tok::Default => "default".to_string(),
            Tok::Ident => t.lit,
            _ => return Err(ParseError::expected(t.text(), &["identifier"], t.pos)),
        };
        let database = self.parse_on_ident()?;
        let (mut duration, mut replication, mut shard_duration, mut default) =
            (None, None, None, false);
        let mut found: Vec<Tok> = Vec::new();
        loop {
            let t = self.scan_ignore_ws();
            if found.contains(&t.tok) {
                return Err(ParseError::at(
                    format!("found duplicate {} option", t.tok.name()),
                    t.pos,
                ));
            }
            match t.tok {
                Tok::Duration => duration = Some(self.parse_duration_arg()?),
                Tok::Replication => replication = Some(self.parse_int(1, MAX_REPLICATION)? as u32),
                Tok::Shard => {
                    self.unscan_shard_check()?;
                    shard_duration = Some(self.parse_duration_arg()?);
                }
                Tok::Default => default = true,
                _ => {
                    if found.is_empty() {
                        return Err(ParseError::expected(
                            t.text(),
                            &["DURATION", "REPLICATION", "SHARD", "DEFAULT"],
                            t.pos,
                        ));
                    }
                    self.unscan();
                    break;
                }
            }
            found.push(t.tok);
        }
        Ok(Statement::AlterRetentionPolicy {
            name,
            database,
            duration,
            replication,
            shard_duration,
            default,
        })
    }

    /// After `SHARD` in `ALTER RETENTION POLICY`: `DURATION` and not `INF`.
    fn unscan_shard_check(&mut self) -> PResult<()> {
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Duration {
            return Err(ParseError::expected(t.text(), &["DURATION"], t.pos));
        }
        let t = self.scan_ignore_ws();
        if t.tok == Tok::Inf {
            return Err(ParseError::at(
                "invalid duration INF for shard duration",
                t.pos,
            ));
        }
        self.unscan();
        Ok(())
    }

    fn parse_create_user(&mut self) -> PResult<Statement> {
        let name = self.parse_ident()?;
        self.parse_tokens(&[Tok::With, Tok::Password])?;
        let password = self.parse_string()?;
        if !self.accept(Tok::With) {
            return Ok(Statement::CreateUser {
                name,
                password,
                admin: false,
            });
        }
        self.parse_tokens(&[Tok::All, Tok::Privileges])?;
        Ok(Statement::CreateUser {
            name,
            password,
            admin: true,
        })
    }

    pub(crate) fn parse_set_password_user_statement(&mut self) -> PResult<Statement> {
        let name = self.parse_ident()?;
        let t = self.scan_ignore_ws();
        if t.tok != Tok::Eq {
            return Err(ParseError::expected(t.text(), &["="], t.pos));
        }
        let password = self.parse_string()?;
        Ok(Statement::SetPassword { name, password })
    }

    pub(crate) fn parse_kill_query_statement(&mut self) -> PResult<Statement> {
        let id = self.parse_uint64()?;
        let host = if self.accept(Tok::On) {
            Some(self.parse_ident()?)
        } else {
            None
        };
        Ok(Statement::KillQuery { id, host })
    }

    fn parse_privilege(&mut self) -> PResult<Privilege> {
        let t = self.scan_ignore_ws();
        match t.tok {
            Tok::Read => Ok(Privilege::Read),
            Tok::Write => Ok(Privilege::Write),
            Tok::All => {
                if self.scan_ignore_ws().tok != Tok::Privileges {
                    self.unscan();
                }
                Ok(Privilege::All)
            }
            _ => Err(ParseError::expected(
                t.text(),
                &["READ", "WRITE", "ALL [PRIVILEGES]"],
                t.pos,
            )),
        }
    }

    pub(crate) fn parse_grant_statement(&mut self) -> PResult<Statement> {
        let privilege = self.parse_privilege()?;
        let t = self.scan_ignore_ws();
        if t.tok == Tok::On {
            let database = self.parse_ident()?;
            let t = self.scan_ignore_ws();
            if t.tok != Tok::To {
                return Err(ParseError::expected(t.text(), &["TO"], t.pos));
            }
            let user = self.parse_ident()?;
            return Ok(Statement::Grant {
                privilege,
                database,
                user,
            });
        }
        if t.tok == Tok::To && privilege == Privilege::All {
            return Ok(Statement::GrantAdmin {
                user: self.parse_ident()?,
            });
        }
        let expected: &[&str] = if privilege == Privilege::All {
            &["ON", "TO"]
        } else {
            &["ON"]
        };
        Err(ParseError::expected(t.text(), expected, t.pos))
    }

    pub(crate) fn parse_revoke_statement(&mut self) -> PResult<Statement> {
        let privilege = self.parse_privilege()?;
        let t = self.scan_ignore_ws();
        if t.tok == Tok::On {
            let database = self.parse_ident()?;
            let t = self.scan_ignore_ws();
            if t.tok != Tok::From {
                return Err(ParseError::expected(t.text(), &["FROM"], t.pos));
            }
            let user = self.parse_ident()?;
            return Ok(Statement::Revoke {
                privilege,
                database,
                user,
            });
        }
        if t.tok == Tok::From && privilege == Privilege::All {
            return Ok(Statement::RevokeAdmin {
                user: self.parse_ident()?,
            });
        }
        let expected: &[&str] = if privilege == Privilege::All {
            &["ON", "FROM"]
        } else {
            &["ON"]
        };
        Err(ParseError::expected(t.text(), expected, t.pos))
    }
}
