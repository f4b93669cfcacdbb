//! `tessera license`: issue a license with a signing key, make a new key, and check a
//! license text. The key file is the 32-byte raw ed25519 seed.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use tessera_license::{Claims, LicenseError};

#[derive(Debug, thiserror::Error)]
pub enum LicenseCmdError {
    #[error("license: cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("license: cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("license: {path} is not a signing key: expected the 32-byte raw ed25519 seed (or 64 hex digits), found {len} bytes")]
    BadKey { path: String, len: usize },
    #[error("license: --expires {0:?}: expected a date YYYY-MM-DD")]
    BadDate(String),
    #[error("license: --expires {0} is not in the future")]
    Past(String),
    #[error("license: --max-data-nodes and --max-cores must be at least 1")]
    ZeroLimit,
    #[error(
        "license: the signing key is not one this build trusts (public key {0}); pass --key-id to name it"
    )]
    UnknownKey(String),
    #[error(transparent)]
    License(#[from] LicenseError),
}

/// What `tessera license issue` puts into a license.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    pub licensee: String,
    pub max_data_nodes: u32,
    pub max_cores: u32,
    /// `YYYY-MM-DD`; the license ends at 00:00:00 UTC that day.
    pub expires: String,
    pub key_id: Option<String>,
}

fn read_key(path: &Path) -> Result<SigningKey, LicenseCmdError> {
    let bytes = std::fs::read(path).map_err(|source| LicenseCmdError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let bad = || LicenseCmdError::BadKey {
        path: path.display().to_string(),
        len: bytes.len(),
    };
    let seed: [u8; 32] = match bytes.len() {
        32 => bytes.as_slice().try_into().map_err(|_| bad())?,
        _ => {
            let text = std::str::from_utf8(&bytes).map_err(|_| bad())?.trim();
            from_hex(text).ok_or_else(bad)?
        }
    };
    Ok(SigningKey::from_bytes(&seed))
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the epoch of `YYYY-MM-DD` 00:00:00 UTC.
pub fn parse_date(date: &str) -> Result<u64, LicenseCmdError> {
    let bad = || LicenseCmdError::BadDate(date.to_string());
    if date.len() != 10 || date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' {
        return Err(bad());
    }
    let t = humantime::parse_rfc3339(&format!("{date}T00:00:00Z")).map_err(|_| bad())?;
    Ok(t.duration_since(UNIX_EPOCH).map_err(|_| bad())?.as_secs())
}

/// `tessera license issue`: the signed license text.
pub fn issue(key_file: &Path, opts: &IssueOptions) -> Result<String, LicenseCmdError> {
    let key = read_key(key_file)?;
    if opts.max_data_nodes == 0 || opts.max_cores == 0 {
        return Err(LicenseCmdError::ZeroLimit);
    }
    let expires_at = parse_date(&opts.expires)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    if expires_at <= now {
        return Err(LicenseCmdError::Past(opts.expires.clone()));
    }
    let public = key.verifying_key();
    let key_id = match &opts.key_id {
        Some(id) => id.clone(),
        None => tessera_license::trusted_keys()
            .into_iter()
            .find(|(_, k)| *k == public)
            .map(|(id, _)| id.to_string())
            .ok_or_else(|| LicenseCmdError::UnknownKey(to_hex(public.as_bytes())))?,
    };
    let claims = Claims {
        key_id,
        licensee: opts.licensee.clone(),
        max_data_nodes: opts.max_data_nodes,
        max_cores: opts.max_cores,
        issued_at: now,
        expires_at,
    };
    Ok(tessera_license::issue(&key, &claims))
}

/// `tessera license keygen`: writes a fresh seed to `out` (mode 0600, never over an
/// existing file) and returns the public key in hex.
pub fn keygen(out: &Path) -> Result<String, LicenseCmdError> {
    use std::os::unix::fs::OpenOptionsExt;
    let key = tessera_license::generate_key()?;
    let write = |source| LicenseCmdError::Write {
        path: out.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(write)?;
    file.write_all(&key.to_bytes()).map_err(write)?;
    file.sync_all().map_err(write)?;
    Ok(to_hex(key.verifying_key().as_bytes()))
}

/// `tessera license show`: reads a license from `path` (`-` for stdin), verifies it and
/// describes its claims.
pub fn show(path: &str) -> Result<String, LicenseCmdError> {
    let read = |source| LicenseCmdError::Read {
        path: path.to_string(),
        source,
    };
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(read)?;
        s
    } else {
        std::fs::read_to_string(path).map_err(read)?
    };
    let license = tessera_license::verify(&text, SystemTime::now())?;
    Ok(describe(&license.claims))
}

fn describe(c: &Claims) -> String {
    let time = |secs: u64| {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
    };
    let mut t = crate::show::Table::default();
    t.row(["License:", "valid"])
        .row(["Key ID:", &c.key_id])
        .row(["Licensee:", &c.licensee])
        .row(["Max data nodes:", &c.max_data_nodes.to_string()])
        .row(["Max cores per data node:", &c.max_cores.to_string()])
        .row(["Issued:", &time(c.issued_at)])
        .row(["Expires:", &time(c.expires_at)]);
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("tessera-lic-{}-{name}", std::process::id()))
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2020-01-06").unwrap(), 1_578_268_800);
        for bad in ["2020-1-6", "2020-13-01", "tomorrow", "2020-01-06T00:00:00Z"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issue_with_test_key_then_show() {
        let key = temp("test.key");
        std::fs::write(&key, tessera_license::TEST_KEY_SEED).unwrap();
        let opts = IssueOptions {
            licensee: "Acme".into(),
            max_data_nodes: 3,
            max_cores: 2,
            expires: "2099-01-01".into(),
            key_id: None,
        };
        let text = issue(&key, &opts).unwrap();
        let lic = tessera_license::verify(&text, SystemTime::now()).unwrap();
        assert_eq!(lic.claims.key_id, tessera_license::TEST_KEY_ID);
        assert_eq!(lic.claims.licensee, "Acme");
        let file = temp("lic");
        std::fs::write(&file, &text).unwrap();
        let shown = show(file.to_str().unwrap()).unwrap();
        assert!(shown.contains("Licensee:                  Acme"), "{shown}");
        assert!(shown.contains("2099-01-01T00:00:00Z"));
        let past = IssueOptions {
            expires: "2001-01-01".into(),
            ..opts
        };
        assert!(matches!(issue(&key, &past), Err(LicenseCmdError::Past(_))));
        std::fs::remove_file(key).unwrap();
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn keygen_writes_private_seed_once() {
        use std::os::unix::fs::PermissionsExt;
        let out = temp("new.key");
        let public = keygen(&out).unwrap();
        assert_eq!(public.len(), 64);
        let meta = std::fs::metadata(&out).unwrap();
        assert_eq!(meta.len(), 32);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(keygen(&out).is_err(), "must not overwrite a key");
        // A fresh key is not trusted, so issuing needs an explicit key id.
        let opts = IssueOptions {
            licensee: "X".into(),
            max_data_nodes: 1,
            max_cores: 1,
            expires: "2099-01-01".into(),
            key_id: None,
        };
        assert!(matches!(
            issue(&out, &opts),
            Err(LicenseCmdError::UnknownKey(_))
        ));
        let text = issue(
            &out,
            &IssueOptions {
                key_id: Some("k2".into()),
                ..opts
            },
        )
        .unwrap();
        assert!(matches!(
            tessera_license::verify(&text, SystemTime::now()),
            Err(LicenseError::UntrustedKey(_))
        ));
        std::fs::remove_file(out).unwrap();
    }

    #[test]
    fn show_refuses_garbage() {
        let file = temp("garbage");
        std::fs::write(&file, "nope").unwrap();
        assert!(matches!(
            show(file.to_str().unwrap()),
            Err(LicenseCmdError::License(_))
        ));
        std::fs::remove_file(file).unwrap();
    }
}
