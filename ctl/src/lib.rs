//! `influxd-ctl` (cluster administration with InfluxDB Enterprise 1.3's verbs, flags and
//! output shapes) and `tessera` (starts, checks and stops a local cluster; issues licenses).
//! Both talk to meta nodes only through [`tessera_meta_client::MetaClient`]; neither
//! depends on a server crate.
//!
//! # Layout
//! - [`normalize_args`] — Go-style `-flag` arguments rewritten to clap's `--flag`.
//! - [`addr`] — `host:port` validation and the local host name.
//! - [`show`] — tabwriter-style tables and the text of `show`, `show-shards`, `license`.
//! - [`ctl`] — the `influxd-ctl` command line and its verbs.
//! - [`ports`] — the port layout of a local cluster.
//! - [`node_config`] — the TOML configs `tessera up` writes for each node.
//! - [`cluster_file`] — `DIR/cluster.json`, the record of a running local cluster.
//! - [`process`] — starting node processes, signalling and waiting for them.
//! - [`health`] — the health checks behind `tessera status` and `tessera up`.
//! - [`launcher`] — `tessera up` / `status` / `down`.
//! - `formation` — joins started nodes into a cluster and waits for health (private).
//! - [`license_cmd`] — `tessera license issue|keygen|show`.
//! - [`tessera_cli`] — the `tessera` command line.

use std::ffi::OsString;

pub mod addr;
pub mod cluster_file;
pub mod ctl;
mod formation;
pub mod health;
pub mod launcher;
pub mod license_cmd;
pub mod node_config;
pub mod ports;
pub mod process;
pub mod show;
pub mod tessera_cli;

/// Rewrites Go-style long flags (`-bind`, `-force`, `-auth-type=basic`) into the `--bind`
/// form clap parses, so runbooks written for Enterprise's `influxd-ctl` keep working.
///
/// Left alone: the program name (first element), one-letter flags (`-k`, `-v`, `-h`),
/// negative numbers, `--long` flags, the lone `-` (stdin) and everything after a `--`.
/// The argument following one of `value_flags` (given without dashes, e.g. `"pwd"`) is a
/// value and is never rewritten, so a password such as `-secret-` survives.
pub fn normalize_args<I, S>(args: I, value_flags: &[&str]) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut out = Vec::new();
    let mut rest_verbatim = false;
    let mut next_is_value = false;
    for (i, arg) in args.into_iter().enumerate() {
        let arg: OsString = arg.into();
        if i == 0 || rest_verbatim || next_is_value {
            next_is_value = false;
            out.push(arg);
            continue;
        }
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            rest_verbatim = true;
            out.push(arg);
            continue;
        }
        let long =
            |name: &str| name.len() > 1 && name.starts_with(|c: char| c.is_ascii_alphabetic());
        if let Some(name) = s.strip_prefix("--") {
            next_is_value = !name.contains('=') && value_flags.contains(&name);
            out.push(arg);
        } else if let Some(body) = s.strip_prefix('-') {
            let name = body.split('=').next().unwrap_or(body);
            if long(name) {
                next_is_value = !body.contains('=') && value_flags.contains(&name);
                out.push(OsString::from(format!("-{s}")));
            } else {
                out.push(arg);
            }
        } else {
            out.push(arg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str], values: &[&str]) -> Vec<String> {
        normalize_args(args.iter().copied(), values)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn go_style_flags_become_long_flags() {
        assert_eq!(
            norm(
                &[
                    "influxd-ctl",
                    "-bind",
                    "h:8091",
                    "remove-data",
                    "-force",
                    "h:8088"
                ],
                &["bind"]
            ),
            [
                "influxd-ctl",
                "--bind",
                "h:8091",
                "remove-data",
                "--force",
                "h:8088"
            ]
        );
        assert_eq!(
            norm(&["x", "-auth-type=basic", "-user", "u"], &[]),
            ["x", "--auth-type=basic", "--user", "u"]
        );
    }

    #[test]
    fn short_flags_numbers_and_long_flags_are_left_alone() {
        assert_eq!(
            norm(
                &["x", "-k", "-v", "-h", "-5", "-1.5", "--bind", "-", "-y"],
                &[]
            ),
            ["x", "-k", "-v", "-h", "-5", "-1.5", "--bind", "-", "-y"]
        );
    }

    #[test]
    fn program_name_values_and_after_double_dash_are_verbatim() {
        assert_eq!(
            norm(&["-prog", "-pwd", "-secret-", "-user", "bob"], &["pwd"]),
            ["-prog", "--pwd", "-secret-", "--user", "bob"]
        );
        assert_eq!(
            norm(&["x", "--pwd", "-abc", "-bind=-x"], &["pwd"]),
            ["x", "--pwd", "-abc", "--bind=-x"]
        );
        assert_eq!(norm(&["x", "--", "-force"], &[]), ["x", "--", "-force"]);
    }
}
