//! Licenses signed with the published test key, which debug builds trust.

use std::time::{SystemTime, UNIX_EPOCH};

use tessera_license::{issue, test_signing_key, Claims, TEST_KEY_ID};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

pub fn claims(max_data_nodes: u32, max_cores: u32) -> Claims {
    Claims {
        key_id: TEST_KEY_ID.into(),
        licensee: "Tessera tests".into(),
        max_data_nodes,
        max_cores,
        issued_at: now(),
        expires_at: now() + 86_400,
    }
}

/// A valid license for `max_data_nodes` nodes of `max_cores` cores.
pub fn valid(max_data_nodes: u32, max_cores: u32) -> String {
    issue(&test_signing_key(), &claims(max_data_nodes, max_cores))
}

/// A license that expired an hour ago.
pub fn expired() -> String {
    let mut c = claims(3, 2);
    c.issued_at = now() - 7_200;
    c.expires_at = now() - 3_600;
    issue(&test_signing_key(), &c)
}
