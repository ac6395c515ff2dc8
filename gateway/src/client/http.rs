//! The HTTP side: URLs, the bearer token, and problem+json errors.

use super::ClientOpts;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// A client of `/api/v1` of one gateway.
pub(crate) struct Api {
    base: Url,
    token: Option<String>,
    http: reqwest::Client,
}

/// A failed request: an answer with an error status, or no answer at all.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// None when the server could not be reached or the answer could not be read.
    pub(crate) status: Option<u16>,
    pub(crate) message: String,
}

impl ApiError {
    /// 2 for 4xx, 1 for connection failures and 5xx.
    pub(crate) fn exit_code(&self) -> u8 {
        match self.status {
            Some(s) if (400..500).contains(&s) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl Api {
    pub(crate) fn new(opts: &ClientOpts) -> anyhow::Result<Self> {
        let base = Url::parse(opts.server.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                super::usage(format!("--server: '{}' is not an http(s) URL", opts.server))
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("cvi/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let token = opts.token.clone().filter(|t| !t.trim().is_empty());
        Ok(Self { base, token, http })
    }

    /// `<server>/api/v1/<segments…>?<query…>`; segments are percent-encoded.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        url
    }

    pub(crate) async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> anyhow::Result<Value> {
        self.send(Method::GET, self.url(segments, query), None)
            .await
    }

    pub(crate) async fn post(&self, segments: &[&str], body: &Value) -> anyhow::Result<Value> {
        self.send(Method::POST, self.url(segments, &[]), Some(body))
            .await
    }

    pub(crate) async fn patch(&self, segments: &[&str], body: &Value) -> anyhow::Result<Value> {
        self.send(Method::PATCH, self.url(segments, &[]), Some(body))
            .await
    }

    pub(crate) async fn put(&self, segments: &[&str], body: &Value) -> anyhow::Result<Value> {
        self.send(Method::PUT, self.url(segments, &[]), Some(body))
            .await
    }

    pub(crate) async fn delete(&self, segments: &[&str]) -> anyhow::Result<Value> {
        self.send(Method::DELETE, self.url(segments, &[]), None)
            .await
    }

    /// Sends one request. A 2xx answer gives its JSON body (`Value::Null` when empty, as
    /// for 204); anything else is an [`ApiError`].
    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, url.clone());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let origin = url.origin().ascii_serialization();
        let resp = req.send().await.map_err(|e| ApiError {
            status: None,
            message: format!("cannot reach {origin}: {}", error_chain(&e)),
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ApiError {
            status: None,
            message: format!("reading the answer from {origin}: {}", error_chain(&e)),
        })?;
        if status.is_success() {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::Error::new(ApiError {
                    status: None,
                    message: format!("the answer from {origin} is not JSON: {e}"),
                })
            });
        }
        Err(ApiError {
            status: Some(status.as_u16()),
            message: problem_message(status, &bytes, self.token.is_some()),
        }
        .into())
    }
}

/// `404 Not Found: <detail> (field: x)` from a problem+json body, or the body's first line.
pub(crate) fn problem_message(status: StatusCode, body: &[u8], had_token: bool) -> String {
    let head = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("error")
    );
    let problem: Option<Value> = serde_json::from_slice(body).ok();
    let detail = problem
        .as_ref()
        .and_then(|p| p.get("detail").or_else(|| p.get("title")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            let text = String::from_utf8_lossy(body);
            let line = text.lines().next().unwrap_or_default().trim();
            (!line.is_empty()).then(|| line.chars().take(300).collect())
        });
    let field = problem
        .as_ref()
        .and_then(|p| p.get("field"))
        .and_then(Value::as_str);
    let mut msg = match detail {
        Some(d) => format!("{head}: {d}"),
        None => head,
    };
    if let Some(f) = field {
        msg.push_str(&format!(" (field: {f})"));
    }
    if status == StatusCode::UNAUTHORIZED && !had_token {
        msg.push_str(" — give a token with --token or CVI_TOKEN");
    }
    msg
}

/// The error and its causes on one line (reqwest's own message hides the cause).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
