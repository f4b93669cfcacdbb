//! Blocking HTTP helpers: every call returns the status and the body as JSON (or as a JSON
//! string when the body is not JSON).

use std::time::Duration;

use serde_json::Value;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn decode(resp: reqwest::blocking::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

pub fn get(url: &str) -> Result<(u16, Value), reqwest::Error> {
    Ok(decode(client().get(url).send()?))
}

pub fn post(url: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
    Ok(decode(client().post(url).json(body).send()?))
}

/// POSTs raw bytes (for malformed bodies).
pub fn post_raw(url: &str, body: &[u8]) -> Result<(u16, Value), reqwest::Error> {
    Ok(decode(
        client()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()?,
    ))
}
