//! Tessera license entitlements.
//!
//! A license is a short text, `TESSERA1.<payload>.<signature>`: the payload is the JSON
//! [`Claims`] (licensee, maximum data nodes, maximum cores per data node, expiry) in
//! base64url, and the signature is an ed25519 signature of the payload bytes, also
//! base64url. Binaries trust a fixed set of public keys compiled in ([`trusted_keys`]);
//! whoever holds a matching private key issues licenses with [`issue`] (`tessera license
//! issue`). See `docs/licensing.md`.
//!
//! # Layout
//! - [`Claims`] — what a license grants.
//! - [`License`] — a verified license; [`verify`] / [`License::from_config`] check one.
//! - [`issue`], [`generate_key`] — the issuer's side.
//! - [`LicenseError`] — one variant per reason a license is refused.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Prefix of every license text; the digit is the format version.
pub const PREFIX: &str = "TESSERA1";

/// Key id of the release key that signs customer and trial licenses.
pub const RELEASE_KEY_ID: &str = "tessera-release-1";
/// Public half of the release key.
const RELEASE_PUBLIC_KEY: [u8; 32] = [
    0xd1, 0xe2, 0x84, 0x60, 0x67, 0x7f, 0x9e, 0x3f, 0x89, 0xd1, 0x94, 0xf7, 0x88, 0xb0, 0x21, 0xa6,
    0x3f, 0xaa, 0x13, 0x45, 0x29, 0x13, 0xce, 0x13, 0x68, 0xa2, 0xc4, 0x4f, 0x21, 0x0f, 0x01, 0xd0,
];

/// Key id of the published test key. Only debug builds trust it, so that tests can issue
/// expired, capped and otherwise unusual licenses; release builds refuse its licenses.
pub const TEST_KEY_ID: &str = "tessera-test-1";
/// Seed of the test key. It is public on purpose; see [`TEST_KEY_ID`].
pub const TEST_KEY_SEED: [u8; 32] = *b"tessera-test-key-do-not-trust-it";

/// The trial license bundled with Tessera and used by `tessera up`.
pub const TRIAL_LICENSE: &str = include_str!("../trial.license");

/// What a license grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Which key signed it; must name a trusted key.
    pub key_id: String,
    pub licensee: String,
    pub max_data_nodes: u32,
    /// Executors (cores) each data node may run.
    pub max_cores: u32,
    /// Seconds since the Unix epoch.
    pub issued_at: u64,
    /// Seconds since the Unix epoch; the license is refused from this instant on.
    pub expires_at: u64,
}

/// A license whose signature, key and expiry have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub claims: Claims,
    /// The license text it was read from.
    pub key: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LicenseError {
    #[error(
        "license: no license configured: set license-key or license-path in the [enterprise] \
         section (or INFLUXDB_ENTERPRISE_LICENSE_KEY / INFLUXDB_ENTERPRISE_LICENSE_PATH)"
    )]
    Missing,
    #[error("license: cannot read license file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("license: malformed license: {0}")]
    Malformed(String),
    #[error("license: the license is signed by an untrusted key {0:?}")]
    UntrustedKey(String),
    #[error(
        "license: invalid license signature: the license was altered or was not issued by a \
         trusted key"
    )]
    BadSignature,
    #[error("license: the license for {licensee:?} expired at {expired_at}")]
    Expired {
        licensee: String,
        expired_at: String,
    },
}

/// The public keys this build trusts, by key id.
pub fn trusted_keys() -> Vec<(&'static str, VerifyingKey)> {
    let mut keys = vec![(
        RELEASE_KEY_ID,
        VerifyingKey::from_bytes(&RELEASE_PUBLIC_KEY).expect("release key is a valid point"),
    )];
    if cfg!(debug_assertions) {
        keys.push((TEST_KEY_ID, test_signing_key().verifying_key()));
    }
    keys
}

/// The published test key (trusted by debug builds only).
pub fn test_signing_key() -> SigningKey {
    SigningKey::from_bytes(&TEST_KEY_SEED)
}

/// A fresh random signing key, for an issuer who rotates keys.
pub fn generate_key() -> Result<SigningKey, LicenseError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| LicenseError::Malformed(format!("no randomness: {e}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Signs `claims` into a license text.
pub fn issue(key: &SigningKey, claims: &Claims) -> String {
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    let signature = key.sign(&payload);
    format!(
        "{PREFIX}.{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// Checks a license text against the trusted keys and the clock.
pub fn verify(text: &str, now: SystemTime) -> Result<License, LicenseError> {
    verify_with(text, now, &trusted_keys())
}

/// [`verify`] against an explicit key set.
pub fn verify_with(
    text: &str,
    now: SystemTime,
    keys: &[(&str, VerifyingKey)],
) -> Result<License, LicenseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(LicenseError::Missing);
    }
    let mut parts = text.split('.');
    let (Some(prefix), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LicenseError::Malformed(format!(
            "expected {PREFIX}.<payload>.<signature>"
        )));
    };
    if prefix != PREFIX {
        return Err(LicenseError::Malformed(format!(
            "expected the prefix {PREFIX}, found {:?}",
            truncate(prefix, 16)
        )));
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|e| LicenseError::Malformed(format!("payload is not base64url: {e}")))?;
    let sig_bytes = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .map_err(|e| LicenseError::Malformed(format!("signature is not base64url: {e}")))?;
    let signature = Signature::from_slice(&sig_bytes)
        .map_err(|_| LicenseError::Malformed("signature must be 64 bytes".into()))?;
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|e| LicenseError::Malformed(format!("payload is not valid claims: {e}")))?;
    let key = keys
        .iter()
        .find(|(id, _)| *id == claims.key_id)
        .map(|(_, k)| k)
        .ok_or_else(|| LicenseError::UntrustedKey(claims.key_id.clone()))?;
    key.verify(&payload, &signature)
        .map_err(|_| LicenseError::BadSignature)?;
    let expires = UNIX_EPOCH + Duration::from_secs(claims.expires_at);
    if now >= expires {
        return Err(LicenseError::Expired {
            licensee: claims.licensee.clone(),
            expired_at: humantime::format_rfc3339_seconds(expires).to_string(),
        });
    }
    if claims.max_data_nodes == 0 || claims.max_cores == 0 {
        return Err(LicenseError::Malformed(
            "max_data_nodes and max_cores must be at least 1".into(),
        ));
    }
    Ok(License {
        claims,
        key: text.to_string(),
    })
}

impl License {
    /// Loads the license a node is configured with: `license-key` wins over `license-path`.
    pub fn from_config(key: &str, path: &str) -> Result<License, LicenseError> {
        let text = if !key.trim().is_empty() {
            key.to_string()
        } else if !path.trim().is_empty() {
            std::fs::read_to_string(Path::new(path)).map_err(|e| LicenseError::Unreadable {
                path: path.to_string(),
                reason: e.to_string(),
            })?
        } else {
            return Err(LicenseError::Missing);
        };
        verify(&text, SystemTime::now())
    }

    /// Expiry as RFC 3339.
    pub fn expires_rfc3339(&self) -> String {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(self.claims.expires_at))
            .to_string()
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: u64) -> Claims {
        Claims {
            key_id: TEST_KEY_ID.into(),
            licensee: "Acme".into(),
            max_data_nodes: 3,
            max_cores: 2,
            issued_at: 0,
            expires_at,
        }
    }

    const FAR: u64 = 4_000_000_000;

    #[test]
    fn round_trip() {
        let text = issue(&test_signing_key(), &claims(FAR));
        let lic = verify(&text, SystemTime::now()).unwrap();
        assert_eq!(lic.claims, claims(FAR));
    }

    #[test]
    fn bundled_trial_license_is_valid() {
        let lic = verify(TRIAL_LICENSE, SystemTime::now()).unwrap();
        assert_eq!(lic.claims.key_id, RELEASE_KEY_ID);
        assert!(lic.claims.max_data_nodes >= 3);
    }

    #[test]
    fn refusals() {
        let now = SystemTime::now();
        assert_eq!(verify("", now), Err(LicenseError::Missing));
        assert!(matches!(
            verify("garbage", now),
            Err(LicenseError::Malformed(_))
        ));
        assert!(matches!(
            verify("TESSERA1.!!.??", now),
            Err(LicenseError::Malformed(_))
        ));
        let forged_key = SigningKey::from_bytes(&[9u8; 32]);
        let mut c = claims(FAR);
        c.key_id = "someone-else".into();
        assert_eq!(
            verify(&issue(&forged_key, &c), now),
            Err(LicenseError::UntrustedKey("someone-else".into()))
        );
        // A forger who claims a trusted key id fails on the signature.
        assert_eq!(
            verify(&issue(&forged_key, &claims(FAR)), now),
            Err(LicenseError::BadSignature)
        );
        // Altering a field after signing.
        let good = issue(&test_signing_key(), &claims(FAR));
        let parts: Vec<&str> = good.split('.').collect();
        let mut altered = claims(FAR);
        altered.max_data_nodes = 100;
        let altered_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered).unwrap());
        let altered_text = format!("{}.{}.{}", parts[0], altered_payload, parts[2]);
        assert_eq!(verify(&altered_text, now), Err(LicenseError::BadSignature));
        // Expired.
        let expired = issue(&test_signing_key(), &claims(1_000));
        assert!(matches!(
            verify(&expired, now),
            Err(LicenseError::Expired { .. })
        ));
    }
}
