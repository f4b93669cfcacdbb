//! Authentication and authorization of `/query` and `/write`, as influxd 1.6 does them
//! with `[http] auth-enabled = true`.
//!
//! Credentials come from the `u` and `p` URL parameters, HTTP basic auth, or a bearer JWT
//! (HS256 over `[http] shared-secret`, with `username` and `exp` claims). Until an admin
//! user exists requests pass unauthenticated, and `/query` then accepts only `CREATE USER
//! … WITH ALL PRIVILEGES` (influxd's bootstrap). Admins may run everything; other users
//! need the privilege each statement requires on its database (influxd's
//! `RequiredPrivileges`). Passwords are checked with bcrypt once per user and password on
//! each core; later requests compare a salted SHA-256 of the password.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tessera_influxql::{CardinalityKind, Source, Statement};
use tessera_meta_types::{Privilege, Snapshot, User};

use crate::handlers::{error_json, Ctx};
use crate::http::{Request, Response};

/// What a request authenticated as: `None` when authentication is off or not yet
/// possible (no admin user).
pub type Authenticated = Option<User>;

enum Credentials {
    User { name: String, password: String },
    Bearer(String),
}

fn parse_credentials(req: &Request) -> Result<Credentials, &'static str> {
    // URL parameters only (a form body's u/p are not credentials in influxd).
    if let (Some(u), Some(p)) = (req.head.query_decoded("u"), req.head.query_decoded("p")) {
        if !u.is_empty() && !p.is_empty() {
            return Ok(Credentials::User {
                name: u,
                password: p,
            });
        }
    }
    if let Some(h) = req.head.header("authorization") {
        let h = String::from_utf8_lossy(h);
        let parts: Vec<&str> = h.split(' ').collect();
        if parts.len() == 2 && parts[0] == "Bearer" {
            return Ok(Credentials::Bearer(parts[1].to_string()));
        }
        if let Some(b64) = h
            .strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
        {
            if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                let raw = String::from_utf8_lossy(&raw);
                if let Some((u, p)) = raw.split_once(':') {
                    return Ok(Credentials::User {
                        name: u.to_string(),
                        password: p.to_string(),
                    });
                }
            }
        }
    }
    Err("unable to parse authentication credentials")
}

thread_local! {
    /// user → (bcrypt hash it was checked against, salted SHA-256 of the password).
    static CHECKED: RefCell<HashMap<String, (String, [u8; 32])>> = RefCell::new(HashMap::new());
    static SALT: [u8; 16] = rand_salt();
}

fn rand_salt() -> [u8; 16] {
    let mut s = [0u8; 16];
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let addr = &s as *const _ as usize as u128;
    s.copy_from_slice(&(t ^ (addr << 64)).to_le_bytes());
    s
}

fn digest(password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    SALT.with(|s| h.update(s));
    h.update(password.as_bytes());
    h.finalize().into()
}

async fn password_ok(user: &User, password: &str) -> bool {
    let d = digest(password);
    let cached = CHECKED.with(|c| {
        c.borrow()
            .get(&user.name)
            .is_some_and(|(hash, dd)| *hash == user.hash && *dd == d)
    });
    if cached {
        return true;
    }
    let (hash, pw) = (user.hash.clone(), password.to_string());
    // bcrypt takes tens of milliseconds: off the core's executor.
    let ok = glommio::executor()
        .spawn_blocking(move || bcrypt::verify(pw, &hash).unwrap_or(false))
        .await;
    if ok {
        CHECKED.with(|c| {
            c.borrow_mut()
                .insert(user.name.clone(), (user.hash.clone(), d))
        });
    }
    ok
}

/// A 401 with influxd's basic-auth challenge.
fn unauthorized(msg: &str) -> Response {
    error_json(401, msg).header("WWW-Authenticate", "Basic realm=\"InfluxDB\"")
}

/// Authenticates a `/query` or `/write` request; `Err` is the answer to send.
pub async fn authenticate(req: &Request, ctx: &Ctx) -> Result<Authenticated, Response> {
    if !ctx.config.http.auth_enabled {
        return Ok(None);
    }
    let Some(snap) = ctx.state.state().snapshot.clone() else {
        return Ok(None);
    };
    if !snap.data.users.values().any(|u| u.admin) {
        return Ok(None);
    }
    match parse_credentials(req).map_err(unauthorized)? {
        Credentials::User { name, password } => {
            if name.is_empty() {
                return Err(unauthorized("username required"));
            }
            match snap.data.users.get(&name) {
                Some(u) if password_ok(u, &password).await => Ok(Some(u.clone())),
                _ => Err(unauthorized("authorization failed")),
            }
        }
        Credentials::Bearer(token) => {
            let secret = &ctx.config.http.shared_secret;
            if secret.is_empty() {
                // influxd 1.6's text, typo included.
                return Err(unauthorized("bearer auth disabld"));
            }
            let name = jwt_username(&token, secret.as_bytes()).map_err(|e| unauthorized(&e))?;
            match snap.data.users.get(&name) {
                Some(u) => Ok(Some(u.clone())),
                None => Err(unauthorized("user not found")),
            }
        }
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Validates an HS256 JWT and returns its `username` claim; errors in jwt-go's and
/// influxd's words.
fn jwt_username(token: &str, secret: &[u8]) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err("token contains an invalid number of segments".into());
    }
    let json = |s: &str| -> Result<serde_json::Value, String> {
        let raw = b64
            .decode(s.trim_end_matches('='))
            .map_err(|e| format!("illegal base64 data: {e}"))?;
        serde_json::from_slice(&raw).map_err(|e| e.to_string())
    };
    let header = json(parts[0])?;
    let alg = header.get("alg").and_then(|a| a.as_str()).unwrap_or("");
    if alg != "HS256" {
        return Err(format!("unexpected signing method: {alg}"));
    }
    let claims = json(parts[1])?;
    let sig = b64
        .decode(parts[2].trim_end_matches('='))
        .map_err(|e| format!("illegal base64 data: {e}"))?;
    let want = hmac_sha256(secret, format!("{}.{}", parts[0], parts[1]).as_bytes());
    // Constant time: the comparison does not stop at the first differing byte.
    if sig.len() != want.len() || sig.iter().zip(want).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
        return Err("signature is invalid".into());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let exp = claims.get("exp").and_then(|e| e.as_f64());
    if let Some(exp) = exp {
        if now > exp {
            return Err("Token is expired".into());
        }
    }
    if !exp.is_some_and(|e| e > 0.0) {
        return Err("token expiration required".into());
    }
    match claims.get("username") {
        Some(serde_json::Value::String(u)) if !u.is_empty() => Ok(u.clone()),
        Some(serde_json::Value::String(_)) => Err("token must contain a username".into()),
        _ => Err("username in token must be a string".into()),
    }
}

/// What a statement needs: admin, or `privilege` on a database (`None`: the request's).
struct Need {
    admin: bool,
    database: Option<String>,
    privilege: Option<Privilege>,
}

fn read(db: &Option<String>) -> Need {
    Need {
        admin: false,
        database: db.clone(),
        privilege: Some(Privilege::Read),
    }
}

fn write(db: Option<String>) -> Need {
    Need {
        admin: false,
        database: db,
        privilege: Some(Privilege::Write),
    }
}

fn admin() -> Need {
    Need {
        admin: true,
        database: None,
        privilege: None,
    }
}

fn select_needs(s: &tessera_influxql::SelectStatement, out: &mut Vec<Need>) {
    for src in &s.sources {
        match src {
            Source::Measurement(m) => out.push(read(&m.database)),
            Source::Subquery(inner) => select_needs(inner, out),
        }
    }
    if let Some(t) = &s.target {
        out.push(write(t.database.clone()));
    }
}

/// influxd 1.6's `RequiredPrivileges` of each statement.
fn needs(st: &Statement) -> Vec<Need> {
    use Statement as S;
    let mut out = Vec::new();
    match st {
        S::Select(s) => select_needs(s, &mut out),
        S::Explain { statement, .. } => select_needs(statement, &mut out),
        S::Delete { .. } | S::DropSeries { .. } => out.push(write(None)),
        // READ on the CQ's database, and WRITE on the database its INTO names, if any.
        S::CreateContinuousQuery {
            database, source, ..
        } => {
            out.push(read(&Some(database.clone())));
            if let Some(db) = source
                .target
                .as_ref()
                .and_then(|t| t.database.clone())
                .filter(|d| !d.is_empty())
            {
                out.push(write(Some(db)));
            }
        }
        S::DropContinuousQuery { database, .. } | S::DropRetentionPolicy { database, .. } => {
            out.push(write(Some(database.clone())))
        }
        // influxd 1.6 checks only the estimated series and measurement counts; the other
        // CARDINALITY statements need no privilege.
        S::ShowCardinality {
            what: CardinalityKind::Series | CardinalityKind::Measurement,
            exact: false,
            database,
            ..
        } => out.push(read(database)),
        S::ShowCardinality { .. } => {}
        S::ShowDatabases => out.push(Need {
            admin: false,
            database: None,
            privilege: None,
        }),
        S::ShowRetentionPolicies { database }
        | S::ShowMeasurements { database, .. }
        | S::ShowSeries { database, .. }
        | S::ShowTagKeys { database, .. }
        | S::ShowTagValues { database, .. }
        | S::ShowFieldKeys { database, .. } => out.push(read(database)),
        S::ShowContinuousQueries | S::ShowQueries => out.push(read(&None)),
        _ => out.push(admin()),
    }
    out
}

/// Whether `user` holds `privilege` on `db` (influxd's `AuthorizeDatabase`).
pub fn may(user: &User, privilege: Option<Privilege>, db: &str) -> bool {
    let Some(want) = privilege else {
        return true;
    };
    if user.admin {
        return true;
    }
    match user.privileges.get(db) {
        Some(have) => *have == want || *have == Privilege::All,
        None => false,
    }
}

/// Authorizes a query's statements; `Err` holds the text after "error authorizing
/// query: " (HTTP 403).
pub fn authorize_query(
    user: Option<&User>,
    statements: &[Statement],
    database: &str,
    snap: &Snapshot,
) -> Result<(), String> {
    if snap.data.users.is_empty() {
        if let Some(Statement::CreateUser { admin: true, .. }) = statements.first() {
            return Ok(());
        }
        return Err("create admin user first or disable authentication".into());
    }
    let Some(user) = user else {
        return Err("no user provided".into());
    };
    if user.admin {
        return Ok(());
    }
    for st in statements {
        for n in needs(st) {
            if n.admin {
                return Err(format!(
                    "{} not authorized to execute statement '{st}', requires admin privilege",
                    user.name
                ));
            }
            let db = n
                .database
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| database.to_string());
            if !may(user, n.privilege, &db) {
                let p = n
                    .privilege
                    .map(|p| p.as_influx_str())
                    .unwrap_or("NO PRIVILEGES");
                return Err(format!(
                    "{} not authorized to execute statement '{st}', requires {p} on {db}",
                    user.name
                ));
            }
        }
    }
    Ok(())
}

/// Authorizes a `/write` to `database` (after the database was found to exist): `Err`
/// holds influxd's status and text.
pub fn authorize_write(user: &Authenticated, database: &str) -> Result<(), (u16, String)> {
    match user {
        None => Err((
            403,
            format!("user is required to write to database {database:?}"),
        )),
        Some(u) if !may(u, Some(Privilege::Write), database) => Err((
            403,
            format!(
                "{:?} user is not authorized to write to database {database:?}",
                u.name
            ),
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value, secret: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let h = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let c = b64.encode(claims.to_string());
        let sig = b64.encode(hmac_sha256(secret, format!("{h}.{c}").as_bytes()));
        format!("{h}.{c}.{sig}")
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn jwt_checks_signature_expiry_and_username() {
        let later = 4_000_000_000u64;
        let ok = jwt(serde_json::json!({"username": "bob", "exp": later}), b"s3");
        assert_eq!(jwt_username(&ok, b"s3").unwrap(), "bob");
        assert_eq!(
            jwt_username(&ok, b"other").unwrap_err(),
            "signature is invalid"
        );
        let old = jwt(serde_json::json!({"username": "bob", "exp": 1}), b"s3");
        assert_eq!(jwt_username(&old, b"s3").unwrap_err(), "Token is expired");
        let no_exp = jwt(serde_json::json!({"username": "bob"}), b"s3");
        assert_eq!(
            jwt_username(&no_exp, b"s3").unwrap_err(),
            "token expiration required"
        );
        let no_user = jwt(serde_json::json!({"exp": later}), b"s3");
        assert_eq!(
            jwt_username(&no_user, b"s3").unwrap_err(),
            "username in token must be a string"
        );
        assert_eq!(
            jwt_username("abc", b"s3").unwrap_err(),
            "token contains an invalid number of segments"
        );
    }
}
