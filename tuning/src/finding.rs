//! One check's result, and how a list of them is printed.

use serde::Serialize;

/// How a finding affects a Tessera data node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Fine as it is.
    Ok,
    /// Works, but slower or less predictable than it could be.
    Warn,
    /// A data node will not start or will lose performance badly; exit code 1.
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One checked property of the host.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Finding {
    /// Stable machine name, e.g. `memlock` or `data-dir[0].filesystem`.
    pub(crate) name: String,
    /// What was found, human readable.
    pub(crate) value: String,
    pub(crate) status: Status,
    /// What to change, when the status is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<String>,
}

impl Finding {
    pub(crate) fn ok(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            status: Status::Ok,
            fix: None,
        }
    }

    pub(crate) fn warn(
        name: impl Into<String>,
        value: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            status: Status::Warn,
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn fail(
        name: impl Into<String>,
        value: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            status: Status::Fail,
            fix: Some(fix.into()),
        }
    }
}

/// Renders findings as an aligned table, fixes indented under the row they belong to.
pub(crate) fn table(findings: &[Finding]) -> String {
    let name_w = findings
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let value_w = findings
        .iter()
        .map(|f| f.value.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 60);
    let mut out = format!("{:<name_w$}  {:<value_w$}  STATUS\n", "CHECK", "VALUE");
    for f in findings {
        out.push_str(&format!(
            "{:<name_w$}  {:<value_w$}  {}\n",
            f.name,
            f.value,
            f.status.label()
        ));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("{:name_w$}    fix: {fix}\n", ""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_fix_under_its_row() {
        let t = table(&[
            Finding::ok("cpus", "4"),
            Finding::warn("thp", "always", "set madvise"),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("thp") && lines[2].ends_with("WARN"));
        assert!(lines[3].contains("fix: set madvise"));
    }

    #[test]
    fn status_serializes_lowercase() {
        let json = serde_json::to_string(&Finding::fail("x", "y", "z")).expect("serialize");
        assert!(json.contains("\"status\":\"fail\""));
    }
}
