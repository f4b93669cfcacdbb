//! `Display` for statements other than `SELECT` (influxd's `String()` methods).

use std::fmt::{self, Formatter};

use crate::ast::*;
use crate::display::{
    from_sources, group_by, join, on_db, opt_num, quote_ident, quote_string, where_cond,
};
use crate::time::format_duration;

fn tag_key(f: &mut Formatter<'_>, op: BinaryOp, key: &TagKeyExpr) -> fmt::Result {
    let op = match (op, key) {
        (BinaryOp::Eq, TagKeyExpr::Names(n)) if n.len() != 1 => "IN",
        (op, _) => op.symbol(),
    };
    write!(f, " WITH KEY {op} {key}")
}

pub(crate) fn fmt_statement(s: &Statement, f: &mut Formatter<'_>) -> fmt::Result {
    use Statement::*;
    match s {
        Select(s) => write!(f, "{s}"),
        Explain { analyze, statement } => {
            f.write_str("EXPLAIN ")?;
            if *analyze {
                f.write_str("ANALYZE ")?;
            }
            write!(f, "{statement}")
        }
        Delete { sources, condition } => {
            f.write_str("DELETE")?;
            from_sources(f, sources)?;
            where_cond(f, condition)
        }
        DropSeries { sources, condition } => {
            f.write_str("DROP SERIES")?;
            from_sources(f, sources)?;
            where_cond(f, condition)
        }
        DropMeasurement { name } => write!(f, "DROP MEASUREMENT {}", quote_ident(name)),
        DropShard { id } => write!(f, "DROP SHARD {id}"),
        KillQuery { id, host } => {
            write!(f, "KILL QUERY {id}")?;
            if let Some(h) = host {
                write!(f, " ON {}", quote_ident(h))?;
            }
            Ok(())
        }
        CreateDatabase { name, rp } => {
            write!(f, "CREATE DATABASE {}", quote_ident(name))?;
            if let Some(rp) = rp {
                f.write_str(" WITH")?;
                // influxd prints these two with Go's Duration.String (`2h0m0s`).
                if let Some(d) = rp.duration {
                    write!(f, " DURATION {}", crate::time::go_duration(d.max(0) as u64))?;
                }
                if let Some(r) = rp.replication {
                    write!(f, " REPLICATION {r}")?;
                }
                if let Some(d) = rp.shard_duration.filter(|d| *d > 0) {
                    write!(f, " SHARD DURATION {}", crate::time::go_duration(d as u64))?;
                }
                if let Some(n) = &rp.name {
                    write!(f, " NAME {}", quote_ident(n))?;
                }
            }
            Ok(())
        }
        DropDatabase { name } => write!(f, "DROP DATABASE {}", quote_ident(name)),
        CreateRetentionPolicy {
            name,
            database,
            duration,
            replication,
            shard_duration,
            default,
        } => {
            write!(
                f,
                "CREATE RETENTION POLICY {} ON {} DURATION {} REPLICATION {replication}",
                quote_ident(name),
                quote_ident(database),
                format_duration(*duration)
            )?;
            if let Some(d) = shard_duration.filter(|d| *d > 0) {
                write!(f, " SHARD DURATION {}", format_duration(d))?;
            }
            if *default {
                f.write_str(" DEFAULT")?;
            }
            Ok(())
        }
        AlterRetentionPolicy {
            name,
            database,
            duration,
            replication,
            shard_duration,
            default,
        } => {
            write!(
                f,
                "ALTER RETENTION POLICY {} ON {}",
                quote_ident(name),
                quote_ident(database)
            )?;
            if let Some(d) = duration {
                write!(f, " DURATION {}", format_duration(*d))?;
            }
            if let Some(r) = replication {
                write!(f, " REPLICATION {r}")?;
            }
            if let Some(d) = shard_duration {
                write!(f, " SHARD DURATION {}", format_duration(*d))?;
            }
            if *default {
                f.write_str(" DEFAULT")?;
            }
            Ok(())
        }
        DropRetentionPolicy { name, database } => write!(
            f,
            "DROP RETENTION POLICY {} ON {}",
            quote_ident(name),
            quote_ident(database)
        ),
        CreateUser { name, admin, .. } => {
            write!(
                f,
                "CREATE USER {} WITH PASSWORD [REDACTED]",
                quote_ident(name)
            )?;
            if *admin {
                f.write_str(" WITH ALL PRIVILEGES")?;
            }
            Ok(())
        }
        DropUser { name } => write!(f, "DROP USER {}", quote_ident(name)),
        SetPassword { name, .. } => {
            write!(f, "SET PASSWORD FOR {} = [REDACTED]", quote_ident(name))
        }
        Grant {
            privilege,
            database,
            user,
        } => write!(
            f,
            "GRANT {privilege} ON {} TO {}",
            quote_ident(database),
            quote_ident(user)
        ),
        GrantAdmin { user } => write!(f, "GRANT ALL PRIVILEGES TO {}", quote_ident(user)),
        Revoke {
            privilege,
            database,
            user,
        } => write!(
            f,
            "REVOKE {privilege} ON {} FROM {}",
            quote_ident(database),
            quote_ident(user)
        ),
        RevokeAdmin { user } => write!(f, "REVOKE ALL PRIVILEGES FROM {}", quote_ident(user)),
        CreateContinuousQuery {
            name,
            database,
            resample_every,
            resample_for,
            source,
        } => {
            write!(
                f,
                "CREATE CONTINUOUS QUERY {} ON {} ",
                quote_ident(name),
                quote_ident(database)
            )?;
            let every = resample_every.filter(|d| *d > 0);
            let for_ = resample_for.filter(|d| *d > 0);
            if every.is_some() || for_.is_some() {
                f.write_str("RESAMPLE ")?;
                if let Some(d) = every {
                    write!(f, "EVERY {} ", format_duration(d))?;
                }
                if let Some(d) = for_ {
                    write!(f, "FOR {} ", format_duration(d))?;
                }
            }
            write!(f, "BEGIN {source} END")
        }
        DropContinuousQuery { name, database } => write!(
            f,
            "DROP CONTINUOUS QUERY {} ON {}",
            quote_ident(name),
            quote_ident(database)
        ),
        CreateSubscription {
            name,
            database,
            retention_policy,
            destinations,
            mode,
        } => write!(
            f,
            "CREATE SUBSCRIPTION {} ON {}.{} DESTINATIONS {mode} {}",
            quote_ident(name),
            quote_ident(database),
            quote_ident(retention_policy),
            join(destinations.iter().map(|d| quote_string(d)))
        ),
        DropSubscription {
            name,
            database,
            retention_policy,
        } => write!(
            f,
            "DROP SUBSCRIPTION {} ON {}.{}",
            quote_ident(name),
            quote_ident(database),
            quote_ident(retention_policy)
        ),
        ShowDatabases => f.write_str("SHOW DATABASES"),
        ShowRetentionPolicies { database } => {
            f.write_str("SHOW RETENTION POLICIES")?;
            on_db(f, database)
        }
        ShowMeasurements {
            database,
            source,
            condition,
            limit,
            offset,
        } => {
            f.write_str("SHOW MEASUREMENTS")?;
            on_db(f, database)?;
            if let Some(src) = source {
                let op = match src {
                    Source::Measurement(m) if m.regex.is_some() => "=~",
                    _ => "=",
                };
                write!(f, " WITH MEASUREMENT {op} {src}")?;
            }
            where_cond(f, condition)?;
            opt_num(f, "LIMIT", *limit)?;
            opt_num(f, "OFFSET", *offset)
        }
        ShowSeries {
            database,
            sources,
            condition,
            limit,
            offset,
        } => {
            f.write_str("SHOW SERIES")?;
            on_db(f, database)?;
            from_sources(f, sources)?;
            where_cond(f, condition)?;
            opt_num(f, "LIMIT", *limit)?;
            opt_num(f, "OFFSET", *offset)
        }
        ShowTagKeys {
            database,
            sources,
            condition,
            limit,
            offset,
            slimit,
            soffset,
        } => {
            f.write_str("SHOW TAG KEYS")?;
            on_db(f, database)?;
            from_sources(f, sources)?;
            where_cond(f, condition)?;
            opt_num(f, "LIMIT", *limit)?;
            opt_num(f, "OFFSET", *offset)?;
            opt_num(f, "SLIMIT", *slimit)?;
            opt_num(f, "SOFFSET", *soffset)
        }
        ShowTagValues {
            database,
            sources,
            op,
            tag_key: key,
            condition,
            limit,
            offset,
        } => {
            f.write_str("SHOW TAG VALUES")?;
            on_db(f, database)?;
            from_sources(f, sources)?;
            tag_key(f, *op, key)?;
            where_cond(f, condition)?;
            opt_num(f, "LIMIT", *limit)?;
            opt_num(f, "OFFSET", *offset)
        }
        ShowFieldKeys {
            database,
            sources,
            limit,
            offset,
        } => {
            f.write_str("SHOW FIELD KEYS")?;
            on_db(f, database)?;
            from_sources(f, sources)?;
            opt_num(f, "LIMIT", *limit)?;
            opt_num(f, "OFFSET", *offset)
        }
        ShowCardinality {
            what,
            exact,
            database,
            sources,
            condition,
            tag_key: key,
            dimensions,
            limit,
            offset,
        } => {
            let exact = if *exact { " EXACT" } else { "" };
            match what {
                CardinalityKind::Series => write!(f, "SHOW SERIES{exact} CARDINALITY")?,
                CardinalityKind::Measurement => write!(f, "SHOW MEASUREMENT{exact} CARDINALITY")?,
                CardinalityKind::TagKey => write!(f, "SHOW TAG KEY{exact} CARDINALITY")?,
                CardinalityKind::TagValues => write!(f, "SHOW TAG VALUES{exact} CARDINALITY")?,
                CardinalityKind::FieldKey => write!(f, "SHOW FIELD KEY{exact} CARDINALITY")?,
            }
            on_db(f, database)?;
            from_sources(f, sources)?;
            if let Some((op, key)) = key {
                tag_key(f, *op, key)?;
            }
            where_cond(f, condition)?;
            group_by(f, dimensions)?;
            opt_num(f, "LIMIT", *limit)?;
            opt_num(f, "OFFSET", *offset)
        }
        ShowUsers => f.write_str("SHOW USERS"),
        ShowGrants { user } => write!(f, "SHOW GRANTS FOR {}", quote_ident(user)),
        ShowContinuousQueries => f.write_str("SHOW CONTINUOUS QUERIES"),
        ShowSubscriptions => f.write_str("SHOW SUBSCRIPTIONS"),
        ShowQueries => f.write_str("SHOW QUERIES"),
        ShowShards => f.write_str("SHOW SHARDS"),
        ShowShardGroups => f.write_str("SHOW SHARD GROUPS"),
        ShowStats { module } => {
            f.write_str("SHOW STATS")?;
            if let Some(m) = module.as_deref().filter(|m| !m.is_empty()) {
                write!(f, " FOR {}", quote_string(m))?;
            }
            Ok(())
        }
        ShowDiagnostics { module } => {
            f.write_str("SHOW DIAGNOSTICS")?;
            if let Some(m) = module.as_deref().filter(|m| !m.is_empty()) {
                write!(f, " FOR {}", quote_string(m))?;
            }
            Ok(())
        }
    }
}
