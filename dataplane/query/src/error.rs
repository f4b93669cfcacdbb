//! Why a statement failed. The `Display` texts are influxd 1.6.7's where it has one: they
//! reach clients as `{"error": "..."}` in the statement's result.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// A message influxd gives word for word.
    #[error("{0}")]
    Influx(String),
    #[error("database not found: {0}")]
    DatabaseNotFound(String),
    #[error("retention policy not found: {0}")]
    RetentionPolicyNotFound(String),
    #[error("database name required")]
    DatabaseRequired,
    #[error("query interrupted")]
    Killed,
    #[error("max-select-point limit exceeed: ({0}/{1})")]
    MaxSelectPoint(u64, u64),
    #[error("max-select-series limit exceeded: ({0}/{1})")]
    MaxSelectSeries(u64, u64),
    #[error("max-select-buckets limit exceeded: ({0}/{1})")]
    MaxSelectBuckets(u64, u64),
    #[error("{0}")]
    Storage(String),
}

impl QueryError {
    pub fn msg(s: impl Into<String>) -> QueryError {
        QueryError::Influx(s.into())
    }
}
