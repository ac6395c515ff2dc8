//! Extractors: bearer auth, and JSON/query bodies whose errors are problem+json.

use super::AppState;
use super::error::ApiError;
use crate::store::hash_token;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Operator,
    TenantAdmin { tenant: Uuid, name: String },
}

impl Auth {
    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor(match self {
            Auth::Operator => "operator".into(),
            Auth::TenantAdmin { name, .. } => format!("tenantAdmin:{name}"),
        })
    }
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Auth::Operator => Ok(()),
            Auth::TenantAdmin { .. } => Err(ApiError::forbidden()),
        }
    }
}

/// Compares two equal-length hex digests without early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized =
            || ApiError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let h = hash_token(token);
        if state
            .admin_token_hash
            .as_deref()
            .is_some_and(|a| same(a, &h))
        {
            return Ok(Auth::Operator);
        }
        match state.store.token(token).await? {
            Some(t) => Ok(Auth::TenantAdmin {
                tenant: t.tenant_id,
                name: t.name,
            }),
            None => Err(unauthorized()),
        }
    }
}

/// `Json<T>` whose rejections are problem+json naming the field.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    let text = e.body_text();
    let status = match e {
        JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    };
    // axum reports data errors as "...target type: <path>: <serde message>".
    let field = text
        .split_once("target type: ")
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(path, _)| path.to_string())
        .filter(|p| !p.contains(' ') && !p.is_empty() && p != ".")
        .or_else(|| {
            text.split("missing field `")
                .nth(1)
                .or_else(|| text.split("unknown field `").nth(1))
                .and_then(|r| r.split('`').next())
                .map(str::to_string)
        });
    let mut err = ApiError::new(status, text);
    err.field = field.or(Some("body".into()));
    err
}

/// Query string whose rejections are problem+json.
pub(crate) struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Q(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::field(StatusCode::BAD_REQUEST, "query", e.body_text())
}
