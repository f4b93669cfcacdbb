//! [`ApiError`]: every way a meta API request fails, mapped to an HTTP status and the
//! `{"error": "..."}` body InfluxDB uses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_meta_types::MetaError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Meta(#[from] MetaError),
    #[error("meta node is not a member of a cluster yet; add it with influxd-ctl add-meta")]
    NotJoined,
    #[error("no meta leader is elected; retry shortly")]
    NoLeader,
    #[error("leadership changed while the request ran; retry")]
    LeaderChanged,
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Meta(MetaError::LeaseConflict { .. }) => StatusCode::CONFLICT,
            ApiError::Meta(MetaError::DataNodeNotFound(_) | MetaError::MetaNodeNotFound(_)) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Meta(_) => StatusCode::BAD_REQUEST,
            ApiError::NotJoined
            | ApiError::NoLeader
            | ApiError::LeaderChanged
            | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "meta API request failed");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
