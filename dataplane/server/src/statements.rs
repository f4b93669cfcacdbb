//! One InfluxQL statement on a data node: `SELECT` through [`crate::select`], metadata
//! statements through the meta plane, `SHOW` statements from the metadata and the cores'
//! series indexes. Output shapes are influxd 1.6.7's.

use std::collections::{BTreeMap, BTreeSet};

use tessera_influxql::{BinaryOp, CardinalityKind, Source, Statement, TagKeyExpr};
use tessera_meta_types::{duration, Command, Snapshot};
use tessera_query::exec::{series_tags, unescape};
use tessera_query::output::{Series, StatementResult};
use tessera_query::{QueryError, Value};

use crate::handlers::Ctx;
use crate::meta_sync::ExecuteError;
use crate::scatter::SeriesFilter;
use crate::select::{resolve_db, resolve_db_rp, shards_for, Defaults};

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn series(name: &str, columns: &[&str], values: Vec<Vec<Value>>) -> Series {
    Series {
        name: name.to_string(),
        tags: Vec::new(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        values,
        partial: false,
    }
}

/// influxd's check of a subscription destination: an `udp`, `http` or `https` URL whose
/// host has a port.
fn subscription_url_ok(dest: &str) -> bool {
    let Some((scheme, rest)) = dest.split_once("://") else {
        return false;
    };
    if !matches!(scheme, "udp" | "http" | "https") {
        return false;
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    match host.rsplit_once(':') {
        Some((h, port)) => !port.is_empty() && (!h.is_empty() || host.starts_with(':')),
        None => false,
    }
}

/// Runs statement `id` of a query: its result, or its error in the result.
pub async fn run(
    st: &Statement,
    id: usize,
    db: &str,
    rp: &str,
    cancel: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    ctx: &Ctx,
    user: Option<&tessera_meta_types::User>,
) -> StatementResult {
    let tz = match st {
        // SELECT INTO answers its `result` series in UTC.
        Statement::Select(s) if s.target.is_none() => {
            s.location.as_deref().and_then(tessera_query::tz::Tz::load)
        }
        _ => None,
    };
    match run_inner(st, db, rp, cancel, ctx, user).await {
        Ok(series) => StatementResult {
            statement_id: id,
            series,
            tz,
            ..Default::default()
        },
        Err(e) => StatementResult::error(id, e.to_string()),
    }
}

/// Runs a SELECT (without INTO) for a `chunked=true` answer: its series go to `chunks`
/// as they are read.
pub async fn run_streamed(
    sel: &tessera_influxql::SelectStatement,
    db: &str,
    rp: &str,
    cancel: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    ctx: &Ctx,
    chunks: &mut crate::chunked::Chunker,
    out: &mut crate::chunked::Emitter,
) -> Result<(), QueryError> {
    tessera_influxql::validate_select(sel).map_err(QueryError::Influx)?;
    let snap = snapshot(ctx)?;
    let defaults = Defaults {
        db,
        rp,
        limits: ctx.limits,
        cancel: std::sync::Arc::clone(cancel),
    };
    crate::select::select_streamed(ctx, &snap, sel, &defaults, chunks, out).await
}

async fn exec(ctx: &Ctx, c: Command) -> Result<Vec<Series>, QueryError> {
    ctx.execute(c)
        .await
        .map(|_| Vec::new())
        .map_err(|e| match e {
            ExecuteError::Refused(m) => QueryError::Influx(m),
            other => QueryError::Influx(other.to_string()),
        })
}

fn snapshot(ctx: &Ctx) -> Result<std::sync::Arc<Snapshot>, QueryError> {
    ctx.state
        .state()
        .snapshot
        .clone()
        .ok_or_else(|| QueryError::msg("this node has not joined a cluster yet"))
}

/// influxd's `meta.ValidName` for databases and retention policies: printable, not
/// empty, not `.` or `..`, and without a slash or backslash.
fn valid_name(name: &str) -> bool {
    name.chars()
        .all(|c| c == ' ' || !(c.is_control() || c.is_whitespace()))
        && !matches!(name, "" | "." | "..")
        && !name.contains(['/', '\\'])
}

fn rp_spec(
    name: String,
    duration: Option<i64>,
    replication: Option<u32>,
    shard: Option<i64>,
) -> tessera_meta_types::RetentionPolicySpec {
    tessera_meta_types::RetentionPolicySpec {
        name,
        duration: duration.map(|d| d as u64),
        shard_group_duration: shard.map(|d| d as u64),
        replica_n: replication,
    }
}

async fn run_inner(
    st: &Statement,
    db_param: &str,
    rp_param: &str,
    cancel: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    ctx: &Ctx,
    user: Option<&tessera_meta_types::User>,
) -> Result<Vec<Series>, QueryError> {
    let defaults = Defaults {
        db: db_param,
        rp: rp_param,
        limits: ctx.limits,
        cancel: std::sync::Arc::clone(cancel),
    };
    match st {
        Statement::Select(sel) if sel.target.is_some() => {
            tessera_influxql::validate_select(sel).map_err(QueryError::Influx)?;
            let snap = snapshot(ctx)?;
            crate::into::select_into(ctx, &snap, sel, &defaults).await
        }
        Statement::Select(sel) => {
            tessera_influxql::validate_select(sel).map_err(QueryError::Influx)?;
            let snap = snapshot(ctx)?;
            crate::select::select(ctx, &snap, sel, &defaults).await
        }
        Statement::CreateDatabase { name, rp }
            if !valid_name(name)
                || rp
                    .as_ref()
                    .and_then(|r| r.name.as_deref())
                    .is_some_and(|n| !n.is_empty() && !valid_name(n)) =>
        {
            Err(QueryError::msg("invalid name"))
        }
        Statement::CreateRetentionPolicy { name, .. } if !valid_name(name) => {
            Err(QueryError::msg("invalid name"))
        }
        Statement::CreateDatabase { name, rp } => {
            let spec = rp.as_ref().map(|r| {
                rp_spec(
                    r.name.clone().unwrap_or_else(|| "autogen".to_string()),
                    r.duration,
                    r.replication,
                    r.shard_duration,
                )
            });
            exec(
                ctx,
                Command::CreateDatabase {
                    name: name.clone(),
                    retention_policy: spec,
                },
            )
            .await
        }
        Statement::DropDatabase { name } => {
            exec(ctx, Command::DropDatabase { name: name.clone() }).await
        }
        Statement::CreateRetentionPolicy {
            name,
            database,
            duration,
            replication,
            shard_duration,
            default,
        } => {
            exec(
                ctx,
                Command::CreateRetentionPolicy {
                    database: database.clone(),
                    policy: rp_spec(
                        name.clone(),
                        Some(*duration),
                        Some(*replication),
                        *shard_duration,
                    ),
                    make_default: *default,
                },
            )
            .await
        }
        Statement::AlterRetentionPolicy {
            name,
            database,
            duration,
            replication,
            shard_duration,
            default,
        } => {
            exec(
                ctx,
                Command::UpdateRetentionPolicy {
                    database: database.clone(),
                    name: name.clone(),
                    policy: rp_spec(name.clone(), *duration, *replication, *shard_duration),
                    make_default: *default,
                },
            )
            .await
        }
        Statement::DropRetentionPolicy { name, database } => {
            let snap = snapshot(ctx)?;
            // influxd's store removes the policy's directory first, and refuses the empty
            // name (its path is the database's) once the database has shards.
            let has_shards = snap.data.database(database).is_some_and(|d| {
                d.retention_policies
                    .values()
                    .any(|rp| !rp.shard_groups.is_empty())
            });
            if name.is_empty() && has_shards {
                let db_path = ctx.engine.cfg.data_dir.join(database);
                return Err(QueryError::msg(format!(
                    "invalid path for database '{database}', retention policy '': {}",
                    db_path.display()
                )));
            }
            if snap
                .data
                .database(database)
                .is_none_or(|d| !d.retention_policies.contains_key(name))
            {
                return Ok(Vec::new());
            }
            exec(
                ctx,
                Command::DropRetentionPolicy {
                    database: database.clone(),
                    name: name.clone(),
                },
            )
            .await
        }
        Statement::CreateUser {
            name,
            password,
            admin,
        } => {
            // influxd: creating a user again with the same password and role is fine.
            if let Some(u) = snapshot(ctx)?.data.users.get(name) {
                if u.admin == *admin && bcrypt::verify(password, &u.hash).unwrap_or(false) {
                    return Ok(Vec::new());
                }
                return Err(QueryError::msg("user already exists"));
            }
            let hash = bcrypt::hash(password, 10).map_err(|e| QueryError::msg(e.to_string()))?;
            exec(
                ctx,
                Command::CreateUser {
                    name: name.clone(),
                    hash,
                    admin: *admin,
                },
            )
            .await
        }
        Statement::DropUser { name } => exec(ctx, Command::DropUser { name: name.clone() }).await,
        Statement::SetPassword { name, password } => {
            let hash = bcrypt::hash(password, 10).map_err(|e| QueryError::msg(e.to_string()))?;
            exec(
                ctx,
                Command::UpdateUser {
                    name: name.clone(),
                    hash,
                },
            )
            .await
        }
        Statement::GrantAdmin { user } => {
            exec(
                ctx,
                Command::SetAdmin {
                    name: user.clone(),
                    admin: true,
                },
            )
            .await
        }
        Statement::RevokeAdmin { user } => {
            exec(
                ctx,
                Command::SetAdmin {
                    name: user.clone(),
                    admin: false,
                },
            )
            .await
        }
        Statement::Grant {
            privilege,
            database,
            user,
        } => {
            exec(
                ctx,
                Command::SetPrivilege {
                    name: user.clone(),
                    database: database.clone(),
                    privilege: privilege_of(*privilege),
                },
            )
            .await
        }
        Statement::Revoke {
            privilege,
            database,
            user,
        } => {
            // influxd: REVOKE x leaves what remains of the current privilege.
            let snap = snapshot(ctx)?;
            let current = snap
                .data
                .users
                .get(user)
                .and_then(|u| u.privileges.get(database).copied())
                .unwrap_or(tessera_meta_types::Privilege::NoPrivileges);
            use tessera_meta_types::Privilege as P;
            let left = match (current, privilege) {
                (_, tessera_influxql::Privilege::All) => P::NoPrivileges,
                (P::All, tessera_influxql::Privilege::Read) => P::Write,
                (P::All, tessera_influxql::Privilege::Write) => P::Read,
                (P::Read, tessera_influxql::Privilege::Read) => P::NoPrivileges,
                (P::Write, tessera_influxql::Privilege::Write) => P::NoPrivileges,
                (c, _) => c,
            };
            exec(
                ctx,
                Command::SetPrivilege {
                    name: user.clone(),
                    database: database.clone(),
                    privilege: left,
                },
            )
            .await
        }
        Statement::CreateContinuousQuery { name, database, .. } => {
            let snap = snapshot(ctx)?;
            let stored = qualified_cq(st, db_param, rp_param, &snap);
            check_cq_measurements(&stored, &snap)?;
            exec(
                ctx,
                Command::CreateContinuousQuery {
                    database: database.clone(),
                    name: name.clone(),
                    query: stored.to_string(),
                },
            )
            .await
        }
        Statement::DropContinuousQuery { name, database } => {
            // influxd answers success for a query or database that is not there.
            let snap = snapshot(ctx)?;
            if snap
                .data
                .database(database)
                .is_none_or(|d| !d.continuous_queries.contains_key(name))
            {
                return Ok(Vec::new());
            }
            exec(
                ctx,
                Command::DropContinuousQuery {
                    database: database.clone(),
                    name: name.clone(),
                },
            )
            .await
        }
        Statement::CreateSubscription {
            name,
            database,
            retention_policy,
            destinations,
            mode,
        } => {
            if let Some(bad) = destinations.iter().find(|d| !subscription_url_ok(d)) {
                return Err(QueryError::msg(format!("invalid subscription URL: {bad}")));
            }
            exec(
                ctx,
                Command::CreateSubscription {
                    database: database.clone(),
                    retention_policy: retention_policy.clone(),
                    name: name.clone(),
                    mode: if mode.eq_ignore_ascii_case("ALL") {
                        tessera_meta_types::SubscriptionMode::All
                    } else {
                        tessera_meta_types::SubscriptionMode::Any
                    },
                    destinations: destinations.clone(),
                },
            )
            .await
        }
        Statement::DropSubscription {
            name,
            database,
            retention_policy,
        } => {
            exec(
                ctx,
                Command::DropSubscription {
                    database: database.clone(),
                    retention_policy: retention_policy.clone(),
                    name: name.clone(),
                },
            )
            .await
        }
        Statement::DropShard { id } => {
            let snap = snapshot(ctx)?;
            if !snap.data.shards().iter().any(|s| s.id == *id) {
                return Ok(Vec::new());
            }
            exec(ctx, Command::DropShard { id: *id }).await
        }
        Statement::ShowDatabases => {
            let snap = snapshot(ctx)?;
            // With authentication, a user sees the databases it may read or write.
            let visible = |name: &str| match user {
                Some(u) if ctx.config.http.auth_enabled => {
                    use tessera_meta_types::Privilege;
                    crate::auth::may(u, Some(Privilege::Read), name)
                        || crate::auth::may(u, Some(Privilege::Write), name)
                }
                _ => true,
            };
            let values = snap
                .data
                .databases_in_order()
                .into_iter()
                .filter(|d| visible(&d.name))
                .map(|d| vec![s(&d.name)])
                .collect();
            Ok(vec![series("databases", &["name"], values)])
        }
        Statement::ShowRetentionPolicies { database } => {
            let snap = snapshot(ctx)?;
            let db = database
                .as_deref()
                .filter(|d| !d.is_empty())
                .unwrap_or(db_param);
            if db.is_empty() {
                return Err(QueryError::DatabaseRequired);
            }
            let d = snap
                .data
                .database(db)
                .ok_or_else(|| QueryError::DatabaseNotFound(db.to_string()))?;
            let values = d
                .policies_in_order()
                .into_iter()
                .map(|rp| {
                    vec![
                        s(&rp.name),
                        s(&duration::format(rp.duration)),
                        s(&duration::format(rp.shard_group_duration)),
                        Value::Integer(rp.replica_n as i64),
                        Value::Boolean(rp.name == d.default_retention_policy),
                    ]
                })
                .collect();
            Ok(vec![series(
                "",
                &[
                    "name",
                    "duration",
                    "shardGroupDuration",
                    "replicaN",
                    "default",
                ],
                values,
            )])
        }
        Statement::ShowUsers => {
            let snap = snapshot(ctx)?;
            // In creation order, as influxd lists them.
            let mut users: Vec<_> = snap.data.users.values().collect();
            users.sort_by_key(|u| u.created);
            let values = users
                .into_iter()
                .map(|u| vec![s(&u.name), Value::Boolean(u.admin)])
                .collect();
            Ok(vec![series("", &["user", "admin"], values)])
        }
        Statement::ShowGrants { user } => {
            let snap = snapshot(ctx)?;
            let u = snap
                .data
                .users
                .get(user)
                .ok_or_else(|| QueryError::msg("user not found"))?;
            let values = u
                .privileges
                .iter()
                .map(|(db, p)| vec![s(db), s(privilege_text(*p))])
                .collect();
            Ok(vec![series("", &["database", "privilege"], values)])
        }
        Statement::ShowContinuousQueries => {
            let snap = snapshot(ctx)?;
            Ok(snap
                .data
                .databases_in_order()
                .into_iter()
                .map(|d| {
                    series(&d.name, &["name", "query"], {
                        // In creation order, as influxd lists them.
                        let mut cqs: Vec<_> = d.continuous_queries.values().collect();
                        cqs.sort_by_key(|c| c.created);
                        cqs.into_iter()
                            .map(|c| vec![s(&c.name), s(&c.query)])
                            .collect()
                    })
                })
                .collect())
        }
        Statement::ShowSubscriptions => {
            let snap = snapshot(ctx)?;
            let mut out = Vec::new();
            for d in snap.data.databases_in_order() {
                let mut values = Vec::new();
                for rp in d.policies_in_order() {
                    for sub in rp.subscriptions_in_order() {
                        values.push(vec![
                            s(&rp.name),
                            s(&sub.name),
                            s(match sub.mode {
                                tessera_meta_types::SubscriptionMode::All => "ALL",
                                tessera_meta_types::SubscriptionMode::Any => "ANY",
                            }),
                            Value::Strings(sub.destinations.clone()),
                        ]);
                    }
                }
                if !values.is_empty() {
                    out.push(series(
                        &d.name,
                        &["retention_policy", "name", "mode", "destinations"],
                        values,
                    ));
                }
            }
            Ok(out)
        }
        Statement::ShowMeasurements {
            database,
            source,
            condition,
            limit,
            offset,
        } => {
            if condition
                .as_ref()
                .is_some_and(tessera_query::cond::has_time_expr)
            {
                return Err(QueryError::msg(
                    "SHOW MEASUREMENTS doesn't support time in WHERE clause",
                ));
            }
            let filter_expr = condition.as_ref().map(MeasurementExpr::of).transpose()?;
            let snap = snapshot(ctx)?;
            // An unknown database lists nothing (no error), as influxd.
            let db = match resolve_db(&snap, database.as_deref(), &defaults) {
                Ok(x) => x,
                Err(QueryError::DatabaseNotFound(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            // influxd's in-memory index is one per database: every retention policy's
            // series count.
            let shards: Vec<u64> = snap
                .data
                .database(&db)
                .map(|d| {
                    d.retention_policies
                        .keys()
                        .flat_map(|rp| shards_for(&snap, &db, rp, i64::MIN, i64::MAX))
                        .collect()
                })
                .unwrap_or_default();
            let mut names: BTreeSet<String> = crate::cluster_index::tags(ctx, None, shards.clone())
                .await?
                .into_keys()
                .collect();
            if let Some(expr) = &filter_expr {
                let mut keys = BTreeSet::new();
                expr.tag_keys(&mut keys);
                let values = if keys.is_empty() {
                    Default::default()
                } else {
                    let km = crate::scatter::KeyMatch {
                        op: tessera_influxql::BinaryOp::Eq,
                        key: tessera_influxql::TagKeyExpr::Names(keys.into_iter().collect()),
                    };
                    crate::cluster_index::tag_values(ctx, None, km, None, shards).await?
                };
                names = expr.select(&names, &values);
            }
            let filter = measurement_filter(source.as_ref())?;
            let values: Vec<Vec<Value>> = names
                .into_iter()
                .filter(|n| filter(n))
                .skip(*offset as usize)
                .take(limit_of(*limit))
                .map(|n| vec![Value::String(n)])
                .collect();
            if values.is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![series("measurements", &["name"], values)])
        }
        Statement::ShowTagKeys {
            database,
            sources,
            condition,
            limit,
            offset,
            slimit,
            soffset,
        } => {
            // influxd's in-memory index is one per database: time terms only decide
            // whether any shard is in range at all, then every tag key is listed.
            let condition = match condition {
                Some(c) => {
                    match any_shard_in_time(ctx, &defaults, database.as_deref(), sources, c)? {
                        Some(rest) => rest,
                        None => return Ok(Vec::new()),
                    }
                }
                None => None,
            };
            let ShowCondition {
                measurements: by_name,
                filter: condition,
                ..
            } = ShowCondition::of(condition.as_ref())?;
            let dbs = statement_db(ctx, database.as_deref(), &defaults);
            let condition = field_comparisons(
                ctx,
                &dbs,
                condition,
                FieldTerms::Index {
                    as_field_ref: false,
                },
            )
            .await?;
            let condition = &condition;
            let mut per: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let keys = if condition.is_none() {
                // Straight from the indexes, without listing series.
                let (names, shards) =
                    index_scope(ctx, &defaults, database.as_deref(), sources).await?;
                for (m, tags) in crate::cluster_index::tags(ctx, names, shards).await? {
                    if !tags.is_empty() {
                        per.insert(m, tags);
                    }
                }
                BTreeSet::new()
            } else {
                index_series(
                    ctx,
                    &defaults,
                    database.as_deref(),
                    sources,
                    condition.as_ref().map(index_condition),
                )
                .await?
                .0
            };
            for k in &keys {
                let e = per
                    .entry(unescape(tessera_storage::batch::measurement_of(k)))
                    .or_default();
                for (t, _) in series_tags(k) {
                    e.insert(t);
                }
            }
            // influxd 1.6 parses SLIMIT/SOFFSET here but does not apply them.
            let _ = (slimit, soffset);
            if let Some(by_name) = &by_name {
                let keep = by_name.select(&per.keys().cloned().collect(), &Default::default());
                per.retain(|m, _| keep.contains(m));
            }
            Ok(per
                .into_iter()
                .filter_map(|(m, tags)| {
                    let values: Vec<Vec<Value>> = tags
                        .into_iter()
                        .skip(*offset as usize)
                        .take(limit_of(*limit))
                        .map(|t| vec![Value::String(t)])
                        .collect();
                    (!values.is_empty()).then(|| series(&m, &["tagKey"], values))
                })
                .collect())
        }
        Statement::ShowTagValues {
            database,
            sources,
            op,
            tag_key,
            condition,
            limit,
            offset,
        } => {
            // The condition's time terms pick the shard groups (influxd reads every
            // retention policy of the database); its tag terms pick the series whose
            // values are listed, on the cores that own them.
            let (rest, range) = match condition {
                Some(c) => tessera_query::cond::split_time_once(c, crate::select::now_ns())?,
                None => (None, tessera_query::cond::TimeRange::default()),
            };
            let ShowCondition {
                reduced,
                measurements: by_name,
                filter,
            } = ShowCondition::of(rest.as_ref())?;
            // The keys' lookup refuses a comparison without a key on its left.
            each_comparison(reduced.as_ref(), &|op, lhs, _| {
                if matches!(
                    op,
                    BinaryOp::Eq | BinaryOp::Neq | BinaryOp::EqRegex | BinaryOp::NeqRegex
                ) && !matches!(lhs, tessera_influxql::Expr::VarRef { .. })
                {
                    return Err(QueryError::msg(format!(
                        "left side of '{op}' must be a tag key"
                    )));
                }
                Ok(())
            })?;
            let dbs = statement_db(ctx, database.as_deref(), &defaults);
            let cond = field_comparisons(
                ctx,
                &dbs,
                filter,
                FieldTerms::Index {
                    as_field_ref: false,
                },
            )
            .await?
            .as_ref()
            .map(index_condition);
            let (names, all_shards) =
                index_scope(ctx, &defaults, database.as_deref(), sources).await?;
            // influxd's in-memory index is one per database: when any shard is in the
            // time range, the values of every series are listed.
            let shards = if condition.is_some()
                && shards_in_range(&*snapshot(ctx)?, &all_shards, range.min, range.max).is_empty()
            {
                Vec::new()
            } else {
                all_shards
            };
            let km = crate::scatter::KeyMatch {
                op: *op,
                key: tag_key.clone(),
            };
            // Sorted by (measurement, key), values sorted: the (key, value) pairs of a
            // measurement come out in order without another sort.
            let mut per: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            if !shards.is_empty() && names.as_ref().is_none_or(|n| !n.is_empty()) {
                for ((m, k), vs) in
                    crate::cluster_index::tag_values(ctx, names, km, cond, shards).await?
                {
                    let e = per.entry(m).or_default();
                    e.extend(vs.into_iter().map(|v| (k.clone(), v)));
                }
            }
            if let Some(by_name) = &by_name {
                let keep = by_name.select(&per.keys().cloned().collect(), &Default::default());
                per.retain(|m, _| keep.contains(m));
            }
            Ok(per
                .into_iter()
                .filter_map(|(m, kv)| {
                    let values: Vec<Vec<Value>> = kv
                        .into_iter()
                        .skip(*offset as usize)
                        .take(limit_of(*limit))
                        .map(|(k, v)| vec![Value::String(k), Value::String(v)])
                        .collect();
                    (!values.is_empty()).then(|| series(&m, &["key", "value"], values))
                })
                .collect())
        }
        Statement::ShowSeries {
            database,
            sources,
            condition,
            limit,
            offset,
        } => {
            // influxd reduces the condition first (`host = 'host_a' + ''` is `host_a`).
            let condition = condition
                .as_ref()
                .map(tessera_query::cond::reduce)
                .filter(|c| *c != tessera_influxql::Expr::Boolean(true));
            // With a time condition influxd lists the series of the default retention
            // policy's shards in range only.
            let now = crate::select::now_ns();
            // (influxql's HasTimeExpr: `time` on the left only. `0 < time` keeps the index
            // path, over the shards of every policy that overlap the range.)
            let timed = match &condition {
                Some(c) if tessera_query::cond::has_time_expr(c) => {
                    let (_, r) = tessera_query::cond::split_time(c, now)?;
                    r.has_min() || r.has_max()
                }
                _ => false,
            };
            // influxd runs SHOW SERIES over the shards of the named retention policy, else
            // the default one, which must exist; without time its index then answers for
            // every policy, but only when that policy has a shard at all.
            let snap = snapshot(ctx)?;
            let scope = ShowScope::Sources {
                named_policy: true,
                each: false,
            };
            let named = show_targets(&snap, &defaults, database.as_deref(), sources, scope)?;
            if named.iter().all(|(db, rps)| {
                rps.iter()
                    .all(|rp| shards_for(&snap, db, rp, i64::MIN, i64::MAX).is_empty())
            }) {
                return Ok(Vec::new());
            }
            let dbs: Vec<String> = named.iter().map(|(db, _)| db.clone()).collect();
            // Without time influxd reads its index, which takes only equality and regex
            // comparisons; with time it runs a SELECT of the series in range, where a
            // field has no value (any comparison on it is false), arithmetic that does
            // not fold compares nothing, and keys compare by value.
            let condition = if timed {
                let c = condition.as_ref().map(|c| series_select_condition(c, now));
                field_comparisons(ctx, &dbs, c, FieldTerms::Select).await?
            } else {
                check_series_operators(condition.as_ref())?;
                // `time` on the right only: influxd's index is the database's, so a
                // range that meets any shard of the database lists every series, one that
                // meets none lists nothing.
                let condition = match &condition {
                    Some(c) if tessera_query::cond::mentions_time(c) => {
                        let (rest, r) = tessera_query::cond::split_time(c, now)?;
                        // (The shards looked at are the named or default policy's.)
                        let any = named.iter().any(|(db, rps)| {
                            rps.iter()
                                .any(|rp| !shards_for(&snap, db, rp, r.min, r.max).is_empty())
                        });
                        if !any {
                            return Ok(Vec::new());
                        }
                        rest
                    }
                    _ => condition,
                };
                field_comparisons(
                    ctx,
                    &dbs,
                    condition,
                    FieldTerms::Index { as_field_ref: true },
                )
                .await?
                .as_ref()
                .map(index_condition)
            };
            let (keys, _) = index_series_counted(
                ctx,
                &defaults,
                database.as_deref(),
                sources,
                condition,
                ShowScope::Sources {
                    named_policy: timed,
                    each: false,
                },
                None,
            )
            .await?;
            let values: Vec<Vec<Value>> = keys
                .iter()
                .map(|k| unescape_key(k))
                .collect::<BTreeSet<String>>()
                .into_iter()
                .skip(*offset as usize)
                .take(limit_of(*limit))
                .map(|k| vec![Value::String(k)])
                .collect();
            if values.is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![series("", &["key"], values)])
        }
        Statement::ShowFieldKeys {
            database,
            sources,
            limit,
            offset,
        } => {
            let snap = snapshot(ctx)?;
            let targets = show_targets(
                &snap,
                &defaults,
                database.as_deref(),
                sources,
                ShowScope::Sources {
                    named_policy: true,
                    each: false,
                },
            )?;
            let filter = sources_filter(sources)?;
            // The union over the sources' databases and policies.
            let mut fields: BTreeMap<
                String,
                BTreeMap<String, BTreeSet<tessera_storage::batch::FieldType>>,
            > = BTreeMap::new();
            for (db, rps) in &targets {
                for rp in rps {
                    let shards = shards_for(&snap, db, rp, i64::MIN, i64::MAX);
                    // A measurement dropped (or whose series were all deleted) keeps its
                    // fields in the shards' registries; influxd forgets them with the
                    // measurement.
                    let live = crate::cluster_index::tags(ctx, None, shards.clone()).await?;
                    for (m, fs) in crate::cluster_index::fields(ctx, db, rp, &shards).await? {
                        if !filter(&m) || !live.contains_key(&m) {
                            continue;
                        }
                        let e = fields.entry(m).or_default();
                        for (f, ts) in fs {
                            e.entry(f).or_default().extend(ts);
                        }
                    }
                }
            }
            Ok(fields
                .into_iter()
                .filter_map(|(m, fs)| {
                    // A field with another type in another shard group is listed once
                    // per type, the types by name (influxd sorts the rows).
                    let values: Vec<Vec<Value>> = fs
                        .into_iter()
                        .flat_map(|(f, ts)| {
                            let mut ts: Vec<_> = ts.into_iter().collect();
                            ts.sort_by_key(|t| type_name(*t));
                            ts.into_iter().map(move |t| (f.clone(), t))
                        })
                        .skip(*offset as usize)
                        .take(limit_of(*limit))
                        .map(|(f, t)| vec![Value::String(f), s(type_name(t))])
                        .collect();
                    (!values.is_empty()).then(|| series(&m, &["fieldKey", "fieldType"], values))
                })
                .collect())
        }
        Statement::ShowCardinality {
            what,
            exact,
            database,
            sources,
            condition,
            tag_key,
            limit,
            offset,
            ..
        } => {
            // influxd answers the estimates with FROM, WHERE, LIMIT or OFFSET by counting,
            // as a SELECT whose one row per measurement an OFFSET skips.
            let counted =
                *exact || !sources.is_empty() || condition.is_some() || *limit > 0 || *offset > 0;
            // influxd refuses time in the WHERE of these (both forms name the exact one,
            // but the field key one), and answers nothing for tag values.
            if condition
                .as_ref()
                .is_some_and(tessera_query::cond::has_time_expr)
            {
                let name = match what {
                    CardinalityKind::Series => "SERIES EXACT",
                    CardinalityKind::Measurement => "MEASUREMENT EXACT",
                    CardinalityKind::TagKey => "TAG KEY EXACT",
                    CardinalityKind::FieldKey => "FIELD KEY",
                    CardinalityKind::TagValues => return Ok(Vec::new()),
                };
                return Err(QueryError::msg(format!(
                    "SHOW {name} CARDINALITY doesn't support time in WHERE clause"
                )));
            }
            // The estimate (influxd: a sketch) from the indexes' sizes, without listing
            // series.
            if *what == CardinalityKind::Series && !counted {
                // influxd answers 0 for a database that is not there or holds nothing.
                let shards = match index_scope(ctx, &defaults, database.as_deref(), sources).await {
                    Ok((_, shards)) => shards,
                    Err(QueryError::DatabaseNotFound(_)) => Vec::new(),
                    Err(e) => return Err(e),
                };
                let one_group = in_one_group(&*snapshot(ctx)?, &shards);
                let n = crate::cluster_index::series_count(ctx, shards, one_group).await?;
                return Ok(vec![series(
                    "",
                    &["cardinality estimation"],
                    vec![vec![Value::Integer(n as i64)]],
                )]);
            }
            // The counted forms' rows are at time 0 in influxd: a range that leaves it out
            // (`0 < time`, allowed since time is on the right) counts nothing.
            // (They read the condition twice: a term refused the second time is refused.)
            let now = crate::select::now_ns();
            let zero_out_of_range = match condition {
                Some(c) => {
                    let (_, r) = tessera_query::cond::split_time(c, now)?;
                    r.min > 0 || r.max < 0
                }
                None => false,
            };
            if counted && (*offset > 0 || zero_out_of_range) {
                // Still checked: the database and its policy.
                let snap = snapshot(ctx)?;
                let scope = ShowScope::Sources {
                    named_policy: true,
                    each: true,
                };
                show_targets(&snap, &defaults, database.as_deref(), sources, scope)?;
                return Ok(Vec::new());
            }
            let mut per_shard: BTreeMap<String, usize> = BTreeMap::new();
            let exact_series = counted && *what == CardinalityKind::Series;
            // The counted forms are SELECTs in influxd, whose index takes arithmetic
            // (`host - 1`) for every series.
            let index_cond = condition
                .as_ref()
                .map(|c| series_select_condition(&tessera_query::cond::reduce_at(c, now), now));
            // influxd's tag values count reads its condition as a SELECT's: a tag the
            // measurement does not have compares as a missing field (false), not as ''.
            // So it is applied below, measurement by measurement.
            let mut dbs = statement_db(ctx, database.as_deref(), &defaults);
            dbs.extend(source_database(sources).map(str::to_string));
            let index_cond = field_comparisons(ctx, &dbs, index_cond, FieldTerms::Select).await?;
            let (index_cond, values_cond) = match what {
                CardinalityKind::TagValues => (None, index_cond),
                _ => (index_cond, None),
            };
            let found = index_series_counted(
                ctx,
                &defaults,
                database.as_deref(),
                sources,
                index_cond,
                // influxd: only the estimated measurement count reads every RP.
                ShowScope::Sources {
                    named_policy: counted || *what != CardinalityKind::Measurement,
                    each: true,
                },
                exact_series.then_some(&mut per_shard),
            )
            .await;
            let count = |n: usize| vec![vec![Value::Integer(n as i64)]];
            let (keys, fields) = match found {
                // The measurement estimate, like the series one, is 0 for a database
                // that is not there.
                Err(QueryError::DatabaseNotFound(_))
                    if !counted && *what == CardinalityKind::Measurement =>
                {
                    return Ok(vec![series("", &["cardinality estimation"], count(0))]);
                }
                found => found?,
            };
            let keys = match &values_cond {
                Some(c) => measurement_condition(keys, c)?,
                None => keys,
            };
            let per_measurement = |f: &dyn Fn(&str, &[&Vec<u8>]) -> usize| -> Vec<Series> {
                let mut by: BTreeMap<String, Vec<&Vec<u8>>> = BTreeMap::new();
                for k in &keys {
                    by.entry(unescape(tessera_storage::batch::measurement_of(k)))
                        .or_default()
                        .push(k);
                }
                by.into_iter()
                    .map(|(m, ks)| (f(&m, &ks), m))
                    // A measurement with no tag keys has no TAG KEY CARDINALITY row.
                    .filter(|(n, _)| *n > 0 || *what != CardinalityKind::TagKey)
                    .map(|(n, m)| series(&m, &["count"], count(n)))
                    .collect()
            };
            Ok(match what {
                CardinalityKind::Measurement => {
                    let n = keys
                        .iter()
                        .map(|k| tessera_storage::batch::measurement_of(k).to_vec())
                        .collect::<BTreeSet<_>>()
                        .len();
                    if !counted {
                        vec![series("", &["cardinality estimation"], count(n))]
                    } else if n == 0 {
                        Vec::new()
                    } else {
                        vec![series("", &["count"], count(n))]
                    }
                }
                CardinalityKind::Series => {
                    if counted {
                        per_measurement(&|m, ks| per_shard.get(m).copied().unwrap_or(ks.len()))
                    } else if keys.is_empty() {
                        Vec::new()
                    } else {
                        vec![series("", &["cardinality estimation"], count(keys.len()))]
                    }
                }
                CardinalityKind::TagKey => per_measurement(&|_, ks| {
                    ks.iter()
                        .flat_map(|k| series_tags(k).into_iter().map(|(t, _)| t))
                        .collect::<BTreeSet<_>>()
                        .len()
                }),
                CardinalityKind::TagValues => {
                    let (op, key) = tag_key.clone().unwrap_or((
                        BinaryOp::EqRegex,
                        TagKeyExpr::Regex(tessera_influxql::Regex(".*".into())),
                    ));
                    let matcher = tag_key_matcher(op, &key)?;
                    tag_values_of(&keys, &matcher)
                        .into_iter()
                        .map(|(m, kv)| series(&m, &["count"], count(kv.len())))
                        .collect()
                }
                CardinalityKind::FieldKey => {
                    // With a condition, only measurements with a matching series count
                    // (tags only: a field compares as null).
                    let with_series: BTreeSet<String> = keys
                        .iter()
                        .map(|k| unescape(tessera_storage::batch::measurement_of(k)))
                        .collect();
                    fields
                        .into_iter()
                        .filter(|(m, _)| condition.is_none() || with_series.contains(m))
                        .map(|(m, fs)| series(&m, &["count"], count(fs.len())))
                        .collect()
                }
            })
        }
        Statement::ShowShardGroups => {
            let snap = snapshot(ctx)?;
            let mut values = Vec::new();
            for d in snap.data.databases_in_order() {
                for rp in d.policies_in_order() {
                    for g in rp.shard_groups.iter().filter(|g| !g.is_deleted()) {
                        values.push(vec![
                            Value::Integer(g.id as i64),
                            s(&d.name),
                            s(&rp.name),
                            shard_time(group_start_time(g, rp)),
                            shard_time(g.end_time.into()),
                            shard_time(i128::from(g.end_time) + i128::from(rp.duration)),
                        ]);
                    }
                }
            }
            Ok(vec![series(
                "shard groups",
                &[
                    "id",
                    "database",
                    "retention_policy",
                    "start_time",
                    "end_time",
                    "expiry_time",
                ],
                values,
            )])
        }
        Statement::ShowShards => {
            let snap = snapshot(ctx)?;
            let mut out = Vec::new();
            for d in snap.data.databases_in_order() {
                let mut values = Vec::new();
                for rp in d.policies_in_order() {
                    for g in rp.shard_groups.iter().filter(|g| !g.is_deleted()) {
                        for sh in &g.shards {
                            values.push(vec![
                                Value::Integer(sh.id as i64),
                                s(&d.name),
                                s(&rp.name),
                                Value::Integer(g.id as i64),
                                shard_time(group_start_time(g, rp)),
                                shard_time(g.end_time.into()),
                                shard_time(i128::from(g.end_time) + i128::from(rp.duration)),
                                Value::String(
                                    sh.owners
                                        .iter()
                                        .map(|o| o.to_string())
                                        .collect::<Vec<_>>()
                                        .join(","),
                                ),
                            ]);
                        }
                    }
                }
                out.push(series(
                    &d.name,
                    &[
                        "id",
                        "database",
                        "retention_policy",
                        "shard_group",
                        "start_time",
                        "end_time",
                        "expiry_time",
                        "owners",
                    ],
                    values,
                ));
            }
            Ok(out)
        }
        Statement::ShowQueries => {
            // Enterprise's columns: every data node's queries, with the node that runs it.
            let mut rows = crate::cluster::cluster_queries(ctx).await;
            rows.sort_by_key(|q| (q.node_id, q.row.qid));
            let values = rows
                .into_iter()
                .map(|q| {
                    vec![
                        Value::Integer(q.row.qid as i64),
                        Value::Integer(q.node_id as i64),
                        Value::String(q.tcp_host),
                        Value::String(q.row.query),
                        Value::String(q.row.database),
                        Value::String(crate::registry::go_duration(
                            std::time::Duration::from_nanos(q.row.duration_ns.max(0) as u64),
                        )),
                        Value::String(q.row.status),
                    ]
                })
                .collect();
            Ok(vec![series(
                "",
                &[
                    "qid", "node_id", "tcp_host", "query", "database", "duration", "status",
                ],
                values,
            )])
        }
        Statement::ShowStats { module } => Ok(crate::stats::show(ctx, module.as_deref()).await),
        Statement::ShowDiagnostics { module } => {
            Ok(crate::diagnostics::show(ctx, module.as_deref()))
        }
        Statement::Explain { analyze, statement } => {
            let snap = snapshot(ctx)?;
            crate::select::explain(ctx, &snap, statement, &defaults, *analyze).await
        }
        Statement::KillQuery { id, host } => {
            if let Some(host) = host {
                return crate::cluster::kill_on(ctx, *id, host)
                    .await
                    .map(|_| Vec::new())
                    .map_err(QueryError::msg);
            }
            if crate::scatter::kill_query(&ctx.engine, *id).await {
                Ok(Vec::new())
            } else {
                Err(QueryError::msg(format!("no such query id: {id}")))
            }
        }
        Statement::Delete { sources, condition } => {
            delete(
                ctx,
                &defaults,
                sources,
                condition.as_ref(),
                Deletion::Points,
            )
            .await
        }
        Statement::DropSeries { sources, condition } => {
            if condition
                .as_ref()
                .is_some_and(tessera_query::cond::has_time_expr)
            {
                return Err(QueryError::msg(
                    "DROP SERIES doesn't support time in WHERE clause",
                ));
            }
            delete(
                ctx,
                &defaults,
                sources,
                condition.as_ref(),
                Deletion::Series,
            )
            .await
        }
        Statement::DropMeasurement { name } => {
            let src = vec![Source::Measurement(tessera_influxql::Measurement {
                name: Some(name.clone()),
                ..Default::default()
            })];
            delete(ctx, &defaults, &src, None, Deletion::Measurement).await
        }
    }
}

/// What a deletion statement deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deletion {
    /// DELETE: points, in a time range if the condition gives one.
    Points,
    /// DROP SERIES: whole series (or, with `time` on the right of a comparison, points in
    /// that range as DELETE).
    Series,
    /// DROP MEASUREMENT: its series, and its fields in every shard (it may come back with
    /// other types).
    Measurement,
}

/// DELETE / DROP SERIES / DROP MEASUREMENT over every retention policy of the database.
async fn delete(
    ctx: &Ctx,
    defaults: &Defaults<'_>,
    sources: &[Source],
    condition: Option<&tessera_influxql::Expr>,
    what: Deletion,
) -> Result<Vec<Series>, QueryError> {
    // DROP SERIES refuses `time` on the left only; with it on the right (`0 < time`) it
    // deletes by time as DELETE does, both being influxd's DeleteSeries.
    let allow_time = what != Deletion::Measurement;
    let snap = snapshot(ctx)?;
    let src_db = source_database(sources);
    let db = src_db.unwrap_or(defaults.db);
    let d = snap
        .data
        .database(db)
        .ok_or_else(|| QueryError::DatabaseNotFound(db.to_string()))?;
    let (rest, range) = match condition {
        Some(c) if allow_time => tessera_query::cond::split_time(c, crate::select::now_ns())?,
        Some(c) => (Some(c.clone()), Default::default()),
        None => (None, Default::default()),
    };
    let filter = sources_filter(sources)?;
    // influxd deletes by series: a condition on a field of a measurement it deletes from is
    // refused, naming the first shard where it meets one.
    let mut refs: BTreeSet<String> = BTreeSet::new();
    if let Some(c) = &rest {
        c.walk(&mut |e| {
            if let tessera_influxql::Expr::VarRef { name, .. } = e {
                if !tessera_query::cond::is_time_ref(e) && name != "_name" {
                    refs.insert(name.clone());
                }
            }
        });
    }
    if !refs.is_empty() {
        let mut all: Vec<(u64, &String)> = Vec::new();
        for rp in d.retention_policies.keys() {
            for shard in shards_for(&snap, db, rp, range.min, range.max) {
                all.push((shard, rp));
            }
        }
        all.sort();
        for (shard, rp) in all {
            let fields = crate::cluster_index::fields(ctx, db, rp, &[shard]).await?;
            if fields
                .iter()
                .any(|(m, fs)| filter(m) && fs.keys().any(|f| refs.contains(f)))
            {
                return Err(QueryError::msg(format!(
                    "shard {shard}: fields not supported in WHERE clause during deletion"
                )));
            }
        }
    }
    for rp in d.retention_policies.keys() {
        let shards = shards_for(&snap, db, rp, range.min, range.max);
        if shards.is_empty() {
            continue;
        }
        let measurements = match sources {
            [] => None,
            // DROP MEASUREMENT names one: its fields go even when no series is left.
            [Source::Measurement(m)] if what == Deletion::Measurement => {
                Some(m.name.iter().cloned().collect())
            }
            _ => {
                let all = crate::cluster_index::tags(ctx, None, shards.clone()).await?;
                Some(all.into_keys().filter(|m| filter(m)).collect())
            }
        };
        crate::cluster_index::delete(
            ctx,
            SeriesFilter {
                measurements,
                condition: rest.clone(),
            },
            range.min,
            range.max,
            shards,
            what == Deletion::Measurement,
        )
        .await?;
    }
    Ok(Vec::new())
}

fn limit_of(l: u64) -> usize {
    if l == 0 {
        usize::MAX
    } else {
        l as usize
    }
}

fn privilege_of(p: tessera_influxql::Privilege) -> tessera_meta_types::Privilege {
    match p {
        tessera_influxql::Privilege::Read => tessera_meta_types::Privilege::Read,
        tessera_influxql::Privilege::Write => tessera_meta_types::Privilege::Write,
        tessera_influxql::Privilege::All => tessera_meta_types::Privilege::All,
    }
}

fn privilege_text(p: tessera_meta_types::Privilege) -> &'static str {
    match p {
        tessera_meta_types::Privilege::NoPrivileges => "NO PRIVILEGES",
        tessera_meta_types::Privilege::Read => "READ",
        tessera_meta_types::Privilege::Write => "WRITE",
        tessera_meta_types::Privilege::All => "ALL PRIVILEGES",
    }
}

fn type_name(t: tessera_storage::batch::FieldType) -> &'static str {
    use tessera_storage::batch::FieldType as F;
    match t {
        F::Float => "float",
        F::Integer => "integer",
        F::Unsigned => "unsigned",
        F::Boolean => "boolean",
        F::String => "string",
    }
}

/// `cpu,host=a` with escapes removed from the measurement and tags as influxd prints keys
/// (it keeps the escapes: series keys are shown as stored).
fn unescape_key(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

type NameFilter = Box<dyn Fn(&str) -> bool>;

fn measurement_filter(source: Option<&Source>) -> Result<NameFilter, QueryError> {
    match source {
        Some(Source::Measurement(m)) => {
            if let Some(re) = &m.regex {
                let re = tessera_query::cond::compile_regex(&re.0)?;
                Ok(Box::new(move |n: &str| re.is_match(n)))
            } else if let Some(name) = m.name.clone() {
                Ok(Box::new(move |n: &str| n == name))
            } else {
                Ok(Box::new(|_: &str| true))
            }
        }
        _ => Ok(Box::new(|_: &str| true)),
    }
}

fn sources_filter(sources: &[Source]) -> Result<NameFilter, QueryError> {
    if sources.is_empty() {
        return Ok(Box::new(|_: &str| true));
    }
    let fs = sources
        .iter()
        .map(|s| measurement_filter(Some(s)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(move |n: &str| fs.iter().any(|f| f(n))))
}

type FieldMap = BTreeMap<String, BTreeMap<String, tessera_storage::batch::FieldType>>;

/// Where a SHOW statement reads series from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShowScope {
    /// The statement's database (ON, else the request's), every retention policy: SHOW
    /// TAG KEYS and TAG VALUES, which influxd answers from that database's index whatever
    /// database a FROM names.
    Database,
    /// Each FROM measurement's own database (else ON, else the request's), the union over
    /// them: SHOW SERIES, FIELD KEYS and the counted CARDINALITY forms, which influxd
    /// rewrites into SELECTs. `named_policy`: only the retention policy a measurement
    /// names, else its database's default one; otherwise every policy of the database.
    /// `each`: every measurement is read on its own, in its own database (the counted
    /// CARDINALITY forms, where a measurement two of them match counts twice); otherwise
    /// every database read is filtered by all of them (SHOW SERIES).
    Sources { named_policy: bool, each: bool },
}

/// The (database, retention policies) a SHOW reads, in `scope`.
fn show_targets(
    snap: &Snapshot,
    defaults: &Defaults<'_>,
    database: Option<&str>,
    sources: &[Source],
    scope: ShowScope,
) -> Result<Vec<(String, Vec<String>)>, QueryError> {
    let all_policies = |db: &str| -> Vec<String> {
        snap.data
            .database(db)
            .map(|d| d.retention_policies.keys().cloned().collect())
            .unwrap_or_default()
    };
    let named_policy = match scope {
        ShowScope::Database => {
            let db = resolve_db(snap, database, defaults)?;
            let rps = all_policies(&db);
            return Ok(vec![(db, rps)]);
        }
        ShowScope::Sources { named_policy, .. } => named_policy,
    };
    let mut pairs: Vec<(Option<&str>, Option<&str>)> = sources
        .iter()
        .filter_map(|s| match s {
            Source::Measurement(m) => Some((
                m.database.as_deref().filter(|d| !d.is_empty()),
                m.retention_policy.as_deref().filter(|r| !r.is_empty()),
            )),
            Source::Subquery(_) => None,
        })
        .collect();
    if pairs.is_empty() {
        pairs.push((None, None));
    }
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (db, rp) in pairs {
        let (db, rps) = if named_policy {
            let (db, rp) = resolve_db_rp(snap, db.or(database), rp, defaults)?;
            (db, vec![rp])
        } else {
            let db = resolve_db(snap, db.or(database), defaults)?;
            let rps = all_policies(&db);
            (db, rps)
        };
        match out.iter_mut().find(|(d, _)| *d == db) {
            Some((_, have)) => {
                for rp in rps {
                    if !have.contains(&rp) {
                        have.push(rp);
                    }
                }
            }
            None => out.push((db, rps)),
        }
    }
    Ok(out)
}

/// Series keys of the database, filtered by the sources and a tag condition; and the
/// field registry of those shards ([`ShowScope::Database`]).
async fn index_series(
    ctx: &Ctx,
    defaults: &Defaults<'_>,
    database: Option<&str>,
    sources: &[Source],
    condition: Option<tessera_influxql::Expr>,
) -> Result<(BTreeSet<Vec<u8>>, FieldMap), QueryError> {
    index_series_counted(
        ctx,
        defaults,
        database,
        sources,
        condition,
        ShowScope::Database,
        None,
    )
    .await
}

/// [`index_series`] in `scope`; with `per_shard`, also the series of each measurement
/// counted shard by shard (a series in two shards counts twice, as influxd 1.6's exact
/// series cardinality counts). Every source's name filters the series of every database
/// read, as influxd's rewritten SELECTs do.
async fn index_series_counted(
    ctx: &Ctx,
    defaults: &Defaults<'_>,
    database: Option<&str>,
    sources: &[Source],
    condition: Option<tessera_influxql::Expr>,
    scope: ShowScope,
    mut per_shard: Option<&mut BTreeMap<String, usize>>,
) -> Result<(BTreeSet<Vec<u8>>, FieldMap), QueryError> {
    let snap = snapshot(ctx)?;
    let (condition, range) = match &condition {
        Some(c) => tessera_query::cond::split_time(c, crate::select::now_ns())?,
        None => (None, tessera_query::cond::TimeRange::default()),
    };
    let groups: Vec<&[Source]> = match scope {
        ShowScope::Sources { each: true, .. } if sources.len() > 1 => sources.chunks(1).collect(),
        _ => vec![sources],
    };
    let mut reads = Vec::new();
    for group in groups {
        let filter = std::rc::Rc::new(sources_filter(group)?);
        for (db, rps) in show_targets(&snap, defaults, database, group, scope)? {
            reads.extend(
                rps.into_iter()
                    .map(|rp| (db.clone(), rp, std::rc::Rc::clone(&filter))),
            );
        }
    }
    let mut keys = BTreeSet::new();
    let mut fields: FieldMap = BTreeMap::new();
    for (db, rp, filter) in &reads {
        // A time condition picks the shard groups that overlap it, as in influxd.
        let shards = shards_for(&snap, db, rp, range.min, range.max);
        if shards.is_empty() {
            continue;
        }
        let filter_of = || SeriesFilter {
            measurements: None,
            condition: condition.clone(),
        };
        // One shard: its series are the distinct ones, counted below.
        let single = shards.len() == 1;
        if let Some(counts) = per_shard.as_deref_mut().filter(|_| !single) {
            for shard in &shards {
                let got = crate::cluster_index::series(ctx, filter_of(), vec![*shard]).await?;
                for k in got {
                    let m = unescape(tessera_storage::batch::measurement_of(&k));
                    if filter(&m) {
                        *counts.entry(m).or_default() += 1;
                    }
                }
            }
        }
        let got = crate::cluster_index::series(ctx, filter_of(), shards.clone()).await?;
        if let Some(counts) = per_shard.as_deref_mut().filter(|_| single) {
            for k in &got {
                let m = unescape(tessera_storage::batch::measurement_of(k));
                if filter(&m) {
                    *counts.entry(m).or_default() += 1;
                }
            }
        }
        keys.extend(
            got.into_iter()
                .filter(|k| filter(&unescape(tessera_storage::batch::measurement_of(k)))),
        );
        for (m, fs) in crate::cluster_index::fields(ctx, db, rp, &shards).await? {
            if filter(&m) {
                let e = fields.entry(m).or_default();
                for (f, ts) in fs {
                    for t in ts {
                        crate::select::keep_field_type(e, &f, t);
                    }
                }
            }
        }
    }
    Ok((keys, fields))
}

/// The series of `keys` that `cond` matches when a comparison of a tag key their
/// measurement does not have is false (influxd's SELECT reads such a key as a field that
/// is not there), rather than a comparison with ''.
fn measurement_condition(
    keys: BTreeSet<Vec<u8>>,
    cond: &tessera_influxql::Expr,
) -> Result<BTreeSet<Vec<u8>>, QueryError> {
    use tessera_influxql::Expr as E;
    let mut by: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for k in keys {
        by.entry(tessera_storage::batch::measurement_of(&k).to_vec())
            .or_default()
            .push(k);
    }
    let mut out = BTreeSet::new();
    for (_, keys) in by {
        let present: BTreeSet<String> = keys
            .iter()
            .flat_map(|k| series_tags(k).into_iter().map(|(t, _)| t))
            .collect();
        let absent = |e: &E| matches!(e, E::VarRef { name, .. } if !present.contains(name));
        let local = tessera_query::cond::map_terms(cond, &|t| match t {
            E::Binary { lhs, rhs, .. } if absent(lhs) || absent(rhs) => E::Boolean(false),
            t => t.clone(),
        });
        let compiled = tessera_query::cond::CExpr::compile(&local, &crate::scatter::TagsOnly)?;
        out.extend(
            keys.into_iter()
                .filter(|k| crate::scatter::tags_match(&compiled, k)),
        );
    }
    Ok(out)
}

/// The database the first measurement of a FROM names.
fn source_database(sources: &[Source]) -> Option<&str> {
    sources.iter().find_map(|s| match s {
        Source::Measurement(m) => m.database.as_deref(),
        _ => None,
    })
}

/// The condition without its time terms when a shard of the database is in its time
/// range (`Some(None)` when nothing else is left), `None` when none is.
fn any_shard_in_time(
    ctx: &Ctx,
    defaults: &Defaults<'_>,
    database: Option<&str>,
    sources: &[Source],
    condition: &tessera_influxql::Expr,
) -> Result<Option<Option<tessera_influxql::Expr>>, QueryError> {
    let (rest, range) = tessera_query::cond::split_time_once(condition, crate::select::now_ns())?;
    if !range.has_min() && !range.has_max() {
        return Ok(Some(Some(condition.clone())));
    }
    let snap = snapshot(ctx)?;
    let src_db = source_database(sources);
    let db = resolve_db(&snap, database.or(src_db), defaults)?;
    let any = snap.data.database(&db).is_some_and(|d| {
        d.retention_policies.values().any(|rp| {
            rp.shard_groups
                .iter()
                .any(|g| crate::select::group_in_range(g, range.min, range.max))
        })
    });
    Ok(any.then_some(rest))
}

/// The shards of `shards` whose group overlaps `[min, max]`.
fn shards_in_range(snap: &Snapshot, shards: &[u64], min: i64, max: i64) -> Vec<u64> {
    let mut out = Vec::new();
    for d in snap.data.databases.values() {
        for rp in d.retention_policies.values() {
            for g in &rp.shard_groups {
                if crate::select::group_in_range(g, min, max) {
                    out.extend(
                        g.shards
                            .iter()
                            .map(|s| s.id)
                            .filter(|id| shards.contains(id)),
                    );
                }
            }
        }
    }
    out
}

/// Whether the shards all belong to one shard group (so no two hold the same series).
pub(crate) fn in_one_group(snap: &Snapshot, shards: &[u64]) -> bool {
    let mut group = None;
    for d in snap.data.databases.values() {
        for rp in d.retention_policies.values() {
            for g in &rp.shard_groups {
                if g.shards.iter().any(|s| shards.contains(&s.id)) {
                    if group.is_some() {
                        return false;
                    }
                    group = Some(g.id);
                }
            }
        }
    }
    true
}

/// The measurements (`None`: all) and shards (every retention policy of the statement's
/// database, [`ShowScope::Database`]) a SHOW reads.
async fn index_scope(
    ctx: &Ctx,
    defaults: &Defaults<'_>,
    database: Option<&str>,
    sources: &[Source],
) -> Result<(Option<Vec<String>>, Vec<u64>), QueryError> {
    let snap = snapshot(ctx)?;
    let mut shards = Vec::new();
    for (db, rps) in show_targets(&snap, defaults, database, sources, ShowScope::Database)? {
        for rp in rps {
            shards.extend(shards_for(&snap, &db, &rp, i64::MIN, i64::MAX));
        }
    }
    if sources.is_empty() {
        return Ok((None, shards));
    }
    let names: Vec<String> = if sources
        .iter()
        .all(|s| matches!(s, Source::Measurement(m) if m.regex.is_none() && m.name.is_some()))
    {
        sources
            .iter()
            .filter_map(|s| match s {
                Source::Measurement(m) => m.name.clone(),
                _ => None,
            })
            .collect()
    } else {
        let filter = sources_filter(sources)?;
        crate::cluster_index::tags(ctx, None, shards.clone())
            .await?
            .into_keys()
            .filter(|m| filter(m))
            .collect()
    };
    Ok((Some(names), shards))
}

type KeyMatcher = Box<dyn Fn(&str) -> bool>;

fn tag_key_matcher(op: BinaryOp, key: &TagKeyExpr) -> Result<KeyMatcher, QueryError> {
    Ok(match key {
        TagKeyExpr::Names(names) => {
            let names = names.clone();
            let neg = matches!(op, BinaryOp::Neq | BinaryOp::NeqRegex);
            Box::new(move |k: &str| names.iter().any(|n| n == k) != neg)
        }
        TagKeyExpr::Regex(re) => {
            let re = tessera_query::cond::compile_regex(&re.0)?;
            let neg = matches!(op, BinaryOp::Neq | BinaryOp::NeqRegex);
            Box::new(move |k: &str| re.is_match(k) != neg)
        }
    })
}

fn tag_values_of(
    keys: &BTreeSet<Vec<u8>>,
    matcher: &KeyMatcher,
) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut per: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for k in keys {
        let m = unescape(tessera_storage::batch::measurement_of(k));
        for (t, v) in series_tags(k) {
            if matcher(&t) {
                per.entry(m.clone()).or_default().insert((t, v));
            }
        }
    }
    per
}

/// A CREATE CONTINUOUS QUERY as influxd stores and prints it: the measurements its query
/// reads and writes qualified where the text leaves the database or retention policy out.
/// As in influxd, the request's `db` (else the CQ's own database) and `rp` (else that
/// database's default policy) fill them in. Other statements are returned as given.
pub fn qualified_cq(st: &Statement, db: &str, rp: &str, snap: &Snapshot) -> Statement {
    let mut stored = st.clone();
    if let Statement::CreateContinuousQuery {
        source, database, ..
    } = &mut stored
    {
        let db = if db.is_empty() { database } else { db };
        qualify_select(source, db, rp, snap);
    }
    stored
}

/// influxd's checks of a continuous query's measurements once qualified
/// ([`qualified_cq`]), target first: first that each names a database that exists and a
/// retention policy, then that each policy exists.
fn check_cq_measurements(stored: &Statement, snap: &Snapshot) -> Result<(), QueryError> {
    let Statement::CreateContinuousQuery { source, .. } = stored else {
        return Ok(());
    };
    let sources = source.sources.iter().filter_map(|s| match s {
        Source::Measurement(m) => Some(m),
        _ => None,
    });
    let measurements: Vec<_> = source.target.iter().chain(sources).collect();
    let name = |m: &tessera_influxql::Measurement| {
        (
            m.database.clone().unwrap_or_default(),
            m.retention_policy.clone().unwrap_or_default(),
        )
    };
    for (db, rp) in measurements.iter().map(|m| name(m)) {
        if snap.data.database(&db).is_none() {
            return Err(QueryError::DatabaseNotFound(db));
        }
        if rp.is_empty() {
            return Err(QueryError::msg(format!(
                "default retention policy not set for: {db}"
            )));
        }
    }
    for (db, rp) in measurements.iter().map(|m| name(m)) {
        if snap.data.retention_policy(&db, &rp).is_none() {
            return Err(QueryError::msg(format!(
                "retention policy not found: {db}.{rp}"
            )));
        }
    }
    Ok(())
}

/// The statement as influxd prints it in a GET warning: a continuous query as stored
/// ([`qualified_cq`]), a SELECT … INTO with its measurements qualified by the request's
/// database (`db`) and retention policy (`rp`, else the default ones).
pub fn shown_statement(st: &Statement, db: &str, rp: &str, snap: &Snapshot) -> Statement {
    match st {
        Statement::CreateContinuousQuery { .. } => qualified_cq(st, db, rp, snap),
        Statement::Select(s) if s.target.is_some() => {
            let mut s = s.clone();
            qualify_select(&mut s, db, rp, snap);
            Statement::Select(s)
        }
        other => other.clone(),
    }
}

/// Names `database` and `rp` (else the database's default retention policy) on the
/// sources and the target of `stmt` where the text leaves them out.
fn qualify_select(
    stmt: &mut tessera_influxql::SelectStatement,
    database: &str,
    rp: &str,
    snap: &Snapshot,
) {
    let qualify = |m: &mut tessera_influxql::Measurement| {
        let db = m
            .database
            .get_or_insert_with(|| database.to_string())
            .clone();
        if m.retention_policy.is_none() {
            if !rp.is_empty() {
                m.retention_policy = Some(rp.to_string());
            } else if let Some(d) = snap.data.database(&db) {
                m.retention_policy = Some(d.default_retention_policy.clone());
            }
        }
    };
    for src in &mut stmt.sources {
        if let Source::Measurement(m) = src {
            qualify(m);
        }
    }
    if let Some(t) = &mut stmt.target {
        qualify(t);
    }
}

/// A shard group's start as influxd shows it: a group holding the first nanoseconds of
/// the time range starts before the first time an i64 holds (it is kept at `i64::MIN`),
/// one shard group duration before its end.
fn group_start_time(
    g: &tessera_meta_types::model::ShardGroup,
    rp: &tessera_meta_types::model::RetentionPolicy,
) -> i128 {
    if g.start_time == i64::MIN {
        i128::from(g.end_time) - i128::from(rp.shard_group_duration)
    } else {
        i128::from(g.start_time)
    }
}

/// A shard (group) time of SHOW SHARDS / SHOW SHARD GROUPS: influxd writes these as
/// RFC 3339 strings in whole seconds, whatever the `epoch` parameter asks (an expiry may
/// lie past the last nanosecond an i64 holds).
fn shard_time(ns: i128) -> Value {
    Value::String(tessera_query::cond::go_rfc3339(ns, 0))
}

/// Calls `check` on every comparison of a condition (through AND, OR and parentheses).
fn each_comparison(
    cond: Option<&tessera_influxql::Expr>,
    check: &dyn Fn(
        tessera_influxql::BinaryOp,
        &tessera_influxql::Expr,
        &tessera_influxql::Expr,
    ) -> Result<(), QueryError>,
) -> Result<(), QueryError> {
    use tessera_influxql::{BinaryOp as B, Expr as E};
    fn walk(e: &E, check: &dyn Fn(B, &E, &E) -> Result<(), QueryError>) -> Result<(), QueryError> {
        match e {
            E::Paren(x) => walk(x, check),
            E::Binary {
                op: B::And | B::Or,
                lhs,
                rhs,
            } => {
                walk(lhs, check)?;
                walk(rhs, check)
            }
            E::Binary { op, lhs, rhs } => check(*op, lhs, rhs),
            _ => Ok(()),
        }
    }
    cond.map_or(Ok(()), |c| walk(c, check))
}

/// The statement's database (none when it does not resolve: the statement reports that).
fn statement_db(ctx: &Ctx, database: Option<&str>, defaults: &Defaults<'_>) -> Vec<String> {
    snapshot(ctx)
        .and_then(|snap| resolve_db(&snap, database, defaults))
        .map(|db| vec![db])
        .unwrap_or_default()
}

/// How a SHOW statement's condition takes a comparison on a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldTerms {
    /// SHOW SERIES / TAG KEYS / TAG VALUES: influxd's in-memory index leaves such a
    /// comparison to the query engine, which SHOW never runs, so it holds for every series
    /// of a measurement that has the field (`region = 'x'` lists all the series of a
    /// measurement where `region` is a field, even when `region` is also one of its tags),
    /// and a name cast to a field type (`x::float`) holds everywhere. `x::field` holds
    /// everywhere too, except in SHOW SERIES (`as_field_ref`), which reads it as a plain
    /// `x`. influxd knows the fields of the first shard it reads only (policies in
    /// creation order, groups in time order): a field written only to later shard groups
    /// compares as a tag there.
    Index { as_field_ref: bool },
    /// The counted CARDINALITY forms, SELECTs over series in influxd: a field has no value
    /// there, so a comparison on a name that is a field of any measurement of the database
    /// (or cast to a field type) is false, `!=` included.
    Select,
}

/// The condition with its comparisons on fields rewritten `how` influxd takes them.
async fn field_comparisons(
    ctx: &Ctx,
    dbs: &[String],
    cond: Option<tessera_influxql::Expr>,
    how: FieldTerms,
) -> Result<Option<tessera_influxql::Expr>, QueryError> {
    use tessera_influxql::{BinaryOp as B, DataType as T, Expr as E};
    let Some(cond) = cond else {
        return Ok(None);
    };
    let cond = match how {
        FieldTerms::Index { as_field_ref: true } => {
            tessera_query::cond::retype_refs(&cond, &|_, t| match t {
                T::Field => T::Unknown,
                t => t,
            })
        }
        _ => cond,
    };
    let plain = |e: &E| match e {
        E::VarRef { name, data_type }
            if name != "_name" && !tessera_query::cond::is_time_ref(e) =>
        {
            Some((name.clone(), *data_type))
        }
        _ => None,
    };
    let mut names = BTreeSet::new();
    cond.walk(&mut |e| {
        if let Some((n, T::Unknown)) = plain(e) {
            names.insert(n);
        }
    });
    let snap = snapshot(ctx)?;
    // Field name → the measurements that have it.
    let mut measurements: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for db in dbs.iter().filter(|_| !names.is_empty()) {
        let Some(d) = snap.data.database(db) else {
            continue;
        };
        let live = |g: &&tessera_meta_types::ShardGroup| !g.is_deleted();
        let reads: Vec<(String, Vec<u64>)> = match how {
            FieldTerms::Index { .. } => d
                .policies_in_order()
                .into_iter()
                .find_map(|rp| {
                    let group = rp
                        .shard_groups
                        .iter()
                        .filter(live)
                        .min_by_key(|g| g.start_time)?;
                    Some((rp.name.clone(), group.shards.iter().map(|s| s.id).collect()))
                })
                .into_iter()
                .collect(),
            FieldTerms::Select => d
                .retention_policies
                .keys()
                .map(|rp| (rp.clone(), shards_for(&snap, db, rp, i64::MIN, i64::MAX)))
                .filter(|(_, shards)| !shards.is_empty())
                .collect(),
        };
        for (rp, shards) in reads {
            for (m, fs) in crate::cluster_index::fields(ctx, db, &rp, &shards).await? {
                for f in fs.keys().filter(|f| names.contains(*f)) {
                    measurements.entry(f.clone()).or_default().insert(m.clone());
                }
            }
        }
    }
    Ok(Some(tessera_query::cond::map_terms(&cond, &|t| {
        let E::Binary { op, lhs, rhs } = t else {
            return t.clone();
        };
        if matches!(op, B::And | B::Or) {
            return t.clone();
        }
        let mut holds_in: BTreeSet<&String> = BTreeSet::new();
        for side in [lhs, rhs] {
            match plain(side) {
                Some((_, T::Unknown | T::Tag)) | None => {}
                Some(_) => return E::Boolean(how != FieldTerms::Select),
            }
            if let Some((n, T::Unknown)) = plain(side) {
                holds_in.extend(measurements.get(&n).into_iter().flatten());
            }
        }
        if how == FieldTerms::Select {
            return if holds_in.is_empty() {
                t.clone()
            } else {
                E::Boolean(false)
            };
        }
        holds_in
            .into_iter()
            .rev()
            .fold(t.clone(), |acc, m| E::Binary {
                op: B::Or,
                lhs: Box::new(E::Binary {
                    op: B::Eq,
                    lhs: Box::new(E::VarRef {
                        name: "_name".into(),
                        data_type: T::Unknown,
                    }),
                    rhs: Box::new(E::String(m.clone())),
                }),
                rhs: Box::new(acc),
            })
    })))
}

/// What influxd's in-memory index makes of a SHOW SERIES / TAG KEYS / TAG VALUES
/// condition: a comparison with anything but a string (or a regex) is a field condition
/// the index cannot judge, so it holds for every series (`WHERE usage_user = 10` lists
/// them all).
fn index_condition(cond: &tessera_influxql::Expr) -> tessera_influxql::Expr {
    use tessera_influxql::{BinaryOp as B, Expr as E};
    tessera_query::cond::map_terms(cond, &|term| match term {
        E::Binary {
            op: op @ (B::Eq | B::Neq),
            lhs,
            rhs,
        } => {
            let time = tessera_query::cond::is_time_ref;
            let text = |x: &E| matches!(x, E::String(_) | E::VarRef { .. });
            if let Some(e) = key_existence(*op, lhs, rhs) {
                return e;
            }
            if time(lhs) || time(rhs) || (text(lhs) && text(rhs)) {
                term.clone()
            } else {
                E::Boolean(true)
            }
        }
        other => other.clone(),
    })
}

/// Two keys compared in a SHOW condition: influxd's index asks which series have the
/// keys, not what their values are (`host = dc`: series with both keys; `host != dc`:
/// with `host` and without `dc`).
fn key_existence(
    op: BinaryOp,
    lhs: &tessera_influxql::Expr,
    rhs: &tessera_influxql::Expr,
) -> Option<tessera_influxql::Expr> {
    two_keys(op, lhs, rhs)?;
    Some(both(
        BinaryOp::And,
        has_key(lhs, true),
        has_key(rhs, op == BinaryOp::Eq),
    ))
}

/// A SHOW condition that influxd runs as a SELECT over series (SHOW SERIES with time,
/// the counted CARDINALITY forms), as the index then takes it: arithmetic that does not
/// fold holds for every series, and two keys compare by value.
fn series_select_condition(c: &tessera_influxql::Expr, now: i64) -> tessera_influxql::Expr {
    let c = tessera_query::cond::index_terms(c, now, &|_| true);
    tessera_query::cond::map_terms(&c, &|t| match t {
        tessera_influxql::Expr::Binary { op, lhs, rhs } => {
            key_values(*op, lhs, rhs).unwrap_or_else(|| t.clone())
        }
        t => t.clone(),
    })
}

/// influxd's SHOW SERIES without time reads its index through an iterator that takes
/// only `=`, `!=`, `=~`, `!~`, `AND` and `OR`, anywhere in the reduced condition
/// (`host = 'x' - 1` is refused; `host = 1 + 1` is `host = 2`).
fn check_series_operators(cond: Option<&tessera_influxql::Expr>) -> Result<(), QueryError> {
    use tessera_influxql::{BinaryOp as B, Expr as E};
    let mut refused = false;
    if let Some(c) = cond {
        let is_time = tessera_query::cond::is_time_ref;
        c.walk(&mut |e| {
            if let E::Binary { op, lhs, rhs } = e {
                // A comparison with `time` picks shards, it is no tag comparison.
                refused |= !matches!(
                    op,
                    B::Eq | B::Neq | B::EqRegex | B::NeqRegex | B::And | B::Or
                ) && !is_time(lhs)
                    && !is_time(rhs);
            }
        });
    }
    if refused {
        return Err(QueryError::msg("invalid tag comparison operator"));
    }
    Ok(())
}

/// Two keys compared in a counted cardinality (a SELECT in influxd): by value, where the
/// series has the left key (`host = host` is every series with `host`, `host != dc`
/// every series but those with equal values).
fn key_values(
    op: BinaryOp,
    lhs: &tessera_influxql::Expr,
    rhs: &tessera_influxql::Expr,
) -> Option<tessera_influxql::Expr> {
    two_keys(op, lhs, rhs)?;
    let compared = tessera_influxql::Expr::Binary {
        op,
        lhs: Box::new(lhs.clone()),
        rhs: Box::new(rhs.clone()),
    };
    Some(if op == BinaryOp::Eq {
        both(BinaryOp::And, has_key(lhs, true), compared)
    } else {
        both(BinaryOp::Or, has_key(lhs, false), compared)
    })
}

/// `Some` when `lhs op rhs` compares two keys (`=` or `!=`, neither `time`).
fn two_keys(
    op: BinaryOp,
    lhs: &tessera_influxql::Expr,
    rhs: &tessera_influxql::Expr,
) -> Option<()> {
    use tessera_influxql::Expr as E;
    let key = |x: &E| matches!(x, E::VarRef { .. }) && !tessera_query::cond::is_time_ref(x);
    (matches!(op, BinaryOp::Eq | BinaryOp::Neq) && key(lhs) && key(rhs)).then_some(())
}

/// Whether a series has key `k` (`yes`) or not: tags are never empty, so "has" is
/// "is not ''".
fn has_key(k: &tessera_influxql::Expr, yes: bool) -> tessera_influxql::Expr {
    tessera_influxql::Expr::Binary {
        op: if yes { BinaryOp::Neq } else { BinaryOp::Eq },
        lhs: Box::new(k.clone()),
        rhs: Box::new(tessera_influxql::Expr::String(String::new())),
    }
}

/// `(a op b)`.
fn both(
    op: BinaryOp,
    a: tessera_influxql::Expr,
    b: tessera_influxql::Expr,
) -> tessera_influxql::Expr {
    tessera_influxql::Expr::Paren(Box::new(tessera_influxql::Expr::Binary {
        op,
        lhs: Box::new(a),
        rhs: Box::new(b),
    }))
}

/// A SHOW TAG KEYS / TAG VALUES condition (its time terms taken out) as influxd's store
/// reads it: reduced first (`x OR true` is no condition); its `_name` comparisons pick
/// the measurements, through the index check that refuses arithmetic (`host - 1`),
/// ordering and constants (`false`) with influxd's texts; the comparisons of other keys
/// filter the series.
#[derive(Default)]
struct ShowCondition {
    /// The whole condition reduced (`None`: no condition).
    reduced: Option<tessera_influxql::Expr>,
    measurements: Option<MeasurementExpr>,
    filter: Option<tessera_influxql::Expr>,
}

impl ShowCondition {
    fn of(rest: Option<&tessera_influxql::Expr>) -> Result<ShowCondition, QueryError> {
        use tessera_influxql::Expr as E;
        use tessera_query::cond::reduce;
        let Some(rest) = rest.map(reduce).filter(|e| *e != E::Boolean(true)) else {
            return Ok(ShowCondition::default());
        };
        let is_name = |lhs: &E| matches!(lhs, E::VarRef { name, .. } if name == "_name");
        let measurements = drop_comparisons(&rest, &|lhs| !is_name(lhs))
            .map(|e| MeasurementExpr::of(&reduce(&e)))
            .transpose()?;
        let is_key = |lhs: &E| matches!(lhs, E::VarRef { name, .. } if !is_system_name(name));
        let filter = drop_comparisons(&rest, &|lhs| !is_key(lhs)).map(|e| reduce(&e));
        Ok(ShowCondition {
            reduced: Some(rest),
            measurements,
            filter,
        })
    }
}

/// influxql's `IsSystemName`: the names of the index's system sources.
fn is_system_name(name: &str) -> bool {
    matches!(
        name,
        "_fieldKeys" | "_measurements" | "_name" | "_series" | "_tagKey" | "_tagKeys" | "_tags"
    )
}

/// influxql's `RewriteExpr` dropping the `=`, `!=`, `=~`, `!~` comparisons whose left side
/// `drop` names. It works bottom-up: an operator left with one side becomes that side,
/// which is then judged in its place (`(region =~ /us/) != false` is `false`).
fn drop_comparisons(
    e: &tessera_influxql::Expr,
    drop: &dyn Fn(&tessera_influxql::Expr) -> bool,
) -> Option<tessera_influxql::Expr> {
    use tessera_influxql::{BinaryOp as B, Expr as E};
    let e = match e {
        E::Paren(x) => E::Paren(Box::new(drop_comparisons(x, drop)?)),
        E::Binary { op, lhs, rhs } => {
            match (drop_comparisons(lhs, drop), drop_comparisons(rhs, drop)) {
                (Some(l), Some(r)) => E::Binary {
                    op: *op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                },
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => return None,
            }
        }
        other => other.clone(),
    };
    match &e {
        E::Binary {
            op: B::Eq | B::Neq | B::EqRegex | B::NeqRegex,
            lhs,
            ..
        } if drop(lhs) => None,
        _ => Some(e),
    }
}

/// A SHOW MEASUREMENTS condition as influxd's in-memory index judges it
/// (`measurementNamesByExpr`): per measurement, from the values its tag keys hold.
enum MeasurementExpr {
    /// `_name = 'cpu'`, `_name =~ /c/`: the measurement's own name.
    Name(tessera_influxql::BinaryOp, Matcher),
    /// `host = 'a'` holds for a measurement with a series of that value; `host != 'a'`
    /// for one with the key but no such series (a measurement without the key never
    /// matches).
    Tag(tessera_influxql::BinaryOp, String, Matcher),
    /// A system name (`_tagKey`, `_series`…): no measurement.
    Nothing,
    And(Box<MeasurementExpr>, Box<MeasurementExpr>),
    Or(Box<MeasurementExpr>, Box<MeasurementExpr>),
}

enum Matcher {
    Value(String),
    Regex(std::sync::Arc<regex::Regex>),
}

impl Matcher {
    fn matches(&self, v: &str) -> bool {
        match self {
            Matcher::Value(x) => x == v,
            Matcher::Regex(re) => re.is_match(v),
        }
    }
}

impl MeasurementExpr {
    /// The condition checked as influxd checks it, with its error texts, left to right.
    fn of(e: &tessera_influxql::Expr) -> Result<MeasurementExpr, QueryError> {
        use tessera_influxql::{BinaryOp as B, Expr as E};
        match e {
            E::Paren(x) => MeasurementExpr::of(x),
            E::Binary {
                op: op @ (B::And | B::Or),
                lhs,
                rhs,
            } => {
                let (l, r) = (
                    Box::new(MeasurementExpr::of(lhs)?),
                    Box::new(MeasurementExpr::of(rhs)?),
                );
                Ok(if *op == B::And {
                    MeasurementExpr::And(l, r)
                } else {
                    MeasurementExpr::Or(l, r)
                })
            }
            E::Binary {
                op: op @ (B::Eq | B::Neq | B::EqRegex | B::NeqRegex),
                lhs,
                rhs,
            } => {
                let E::VarRef { name, .. } = &**lhs else {
                    return Err(QueryError::msg(format!(
                        "left side of '{op}' must be a tag key"
                    )));
                };
                let m = match (&**rhs, matches!(op, B::EqRegex | B::NeqRegex)) {
                    (E::Regex(re), true) => {
                        Matcher::Regex(tessera_query::cond::compile_regex(&re.0)?)
                    }
                    (_, true) => {
                        return Err(QueryError::msg(format!(
                            "right side of '{op}' must be a regular expression"
                        )))
                    }
                    (E::String(v), false) => Matcher::Value(v.clone()),
                    (_, false) => {
                        return Err(QueryError::msg(format!(
                            "right side of '{op}' must be a tag value string"
                        )))
                    }
                };
                Ok(match name.as_str() {
                    "_name" => MeasurementExpr::Name(*op, m),
                    "_fieldKeys" | "_measurements" | "_series" | "_tagKey" | "_tagKeys"
                    | "_tags" => MeasurementExpr::Nothing,
                    _ => MeasurementExpr::Tag(*op, name.clone(), m),
                })
            }
            E::Binary { .. } => Err(QueryError::msg("invalid tag comparison operator")),
            other => Err(QueryError::msg(go_syntax(other))),
        }
    }

    fn tag_keys(&self, out: &mut BTreeSet<String>) {
        match self {
            MeasurementExpr::Tag(_, k, _) => {
                out.insert(k.clone());
            }
            MeasurementExpr::And(l, r) | MeasurementExpr::Or(l, r) => {
                l.tag_keys(out);
                r.tag_keys(out);
            }
            MeasurementExpr::Name(..) | MeasurementExpr::Nothing => {}
        }
    }

    /// The measurements of `all` the condition holds for, given each measurement's
    /// values of the keys it names.
    fn select(
        &self,
        all: &BTreeSet<String>,
        values: &crate::scatter::TagValueSet,
    ) -> BTreeSet<String> {
        use tessera_influxql::BinaryOp as B;
        match self {
            MeasurementExpr::Name(op, m) => all
                .iter()
                .filter(|n| m.matches(n) == matches!(op, B::Eq | B::EqRegex))
                .cloned()
                .collect(),
            MeasurementExpr::Tag(op, key, m) => all
                .iter()
                .filter(|n| {
                    values
                        .get(&((*n).clone(), key.clone()))
                        .filter(|vs| !vs.is_empty())
                        .is_some_and(|vs| {
                            vs.iter().any(|v| m.matches(v)) == matches!(op, B::Eq | B::EqRegex)
                        })
                })
                .cloned()
                .collect(),
            MeasurementExpr::Nothing => BTreeSet::new(),
            MeasurementExpr::And(l, r) => {
                let l = l.select(all, values);
                r.select(all, values).intersection(&l).cloned().collect()
            }
            MeasurementExpr::Or(l, r) => {
                let mut l = l.select(all, values);
                l.extend(r.select(all, values));
                l
            }
        }
    }
}

/// Go's `%#v` of an expression influxd's index cannot judge, which it prints as the
/// error (`&influxql.BooleanLiteral{Val:true}`).
fn go_syntax(e: &tessera_influxql::Expr) -> String {
    use tessera_influxql::Expr as E;
    let quote = |s: &str| {
        let mut q = String::from('"');
        for c in s.chars() {
            match c {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                '\t' => q.push_str("\\t"),
                '\r' => q.push_str("\\r"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    q.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => q.push(c),
            }
        }
        q.push('"');
        q
    };
    match e {
        E::Boolean(b) => format!("&influxql.BooleanLiteral{{Val:{b}}}"),
        E::Integer(i) => format!("&influxql.IntegerLiteral{{Val:{i}}}"),
        E::Unsigned(u) => format!("&influxql.UnsignedLiteral{{Val:0x{u:x}}}"),
        E::Number(f) => {
            let mut v = String::new();
            tessera_query::output::go_float(*f, &mut v);
            format!("&influxql.NumberLiteral{{Val:{v}}}")
        }
        E::String(s) => format!("&influxql.StringLiteral{{Val:{}}}", quote(s)),
        E::Duration(d) => format!("&influxql.DurationLiteral{{Val:{d}}}"),
        E::VarRef { name, data_type } => {
            use tessera_influxql::DataType as T;
            // influxql's DataType numbering.
            let ty = match data_type {
                T::Unknown => 0,
                T::Float => 1,
                T::Integer => 2,
                T::String => 3,
                T::Boolean => 4,
                T::Time => 5,
                T::Tag => 7,
                T::Field => 8,
                T::Unsigned => 9,
            };
            format!("&influxql.VarRef{{Val:{}, Type:{ty}}}", quote(name))
        }
        E::Call { name, args } if args.is_empty() => format!(
            "&influxql.Call{{Name:{}, Args:[]influxql.Expr(nil)}}",
            quote(name)
        ),
        other => format!("{other}"),
    }
}
