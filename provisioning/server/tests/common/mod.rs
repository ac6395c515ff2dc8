//! Test harness: the real API router on 127.0.0.1:0 over a real database — a SQLite file in
//! a temp dir, or a fresh database on the PostgreSQL named by `CVI_TEST_POSTGRES_URL`.

#![allow(dead_code, unreachable_pub)]

use cvi_provisioning_server::Store;
use cvi_provisioning_server::api::{AppState, router};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

pub const ADMIN: &str = "test-operator-token";

pub struct Server {
    pub base: String,
    pub http: Client,
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server URL, or None when this run has none. `CVI_REQUIRE_POSTGRES=1`
/// (set by the README test command) turns a missing server into a failure.
pub fn postgres_url() -> Option<String> {
    match std::env::var("CVI_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CVI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CVI_REQUIRE_POSTGRES=1 but CVI_TEST_POSTGRES_URL is not set"
            );
            eprintln!("skipping: no CVI_TEST_POSTGRES_URL (run the README test command)");
            None
        }
    }
}

async fn fresh_postgres(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("cvi_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .expect("create database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("URL with a database path");
    let query = admin_url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{name}{query}")
}

pub async fn start(db: Db, served: &[&str]) -> Option<Server> {
    let (url, dir) = match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            (
                format!("sqlite://{}", dir.path().join("cvi.db").display()),
                Some(dir),
            )
        }
        Db::Postgres => (fresh_postgres(&postgres_url()?).await, None),
    };
    let store = Store::open(&url).await.expect("open store");
    let state = AppState::new(
        store.clone(),
        served.iter().map(|s| s.to_string()).collect(),
        Some(ADMIN),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router(state)).await;
    });
    Some(Server {
        base: format!("http://{addr}"),
        http: Client::new(),
        store,
        _dir: dir,
        task,
    })
}

pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Server {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut rq = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        let r = rq.send().await.expect("request");
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = r.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            content_type,
            body,
        }
    }
    pub async fn raw(&self, method: Method, path: &str, body: &'static str) -> Resp {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = r.text().await.expect("body");
        Resp {
            status,
            content_type,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }
    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, Some(ADMIN), None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(ADMIN), Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(ADMIN), Some(body))
            .await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(ADMIN), Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, Some(ADMIN), None).await
    }
    /// Number of audit rows: a failed request must add none.
    pub async fn audit_len(&self) -> usize {
        self.get("/api/v1/audit?limit=1000")
            .await
            .body
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    }
}

impl Resp {
    #[track_caller]
    pub fn ok(self, want: u16) -> Value {
        assert_eq!(self.status.as_u16(), want, "body: {}", self.body);
        self.body
    }
    /// A problem+json error with this status naming this field.
    #[track_caller]
    pub fn problem(&self, want: u16, field: &str) {
        assert_eq!(self.status.as_u16(), want, "body: {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], want);
        assert_eq!(self.body["field"], field, "body: {}", self.body);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

pub const APP: &str = "6d0f3c2a-5b8e-4f1d-9a7c-2e4b8d1f0a93";
pub const KEY: &str = "813878896@t.plcm.vc";

/// Tenant Contoso with alice (organizer), provider Polycom with `KEY`, consent. No grant.
pub async fn seed(s: &Server) {
    s.post(
        "/api/v1/tenants",
        serde_json::json!({"name": "Contoso", "verifiedDomains": ["contoso.com"]}),
    )
    .await
    .ok(201);
    s.post(
        "/api/v1/tenants/Contoso/groups",
        serde_json::json!({"name": "eng"}),
    )
    .await
    .ok(201);
    s.post("/api/v1/tenants/Contoso/users", serde_json::json!({"userPrincipalName": "alice@contoso.com", "displayName": "Alice", "groups": ["eng"]}))
        .await
        .ok(201);
    s.post(
        "/api/v1/tenants/Contoso/providers",
        serde_json::json!({"identity": "Polycom", "tenantKey": KEY, "aadApplicationIds": [APP], "instructionUri": "https://dialin.plcm.vc/teams/"}),
    )
    .await
    .ok(201);
    s.post(
        "/api/v1/tenants/Contoso/consents",
        serde_json::json!({"appId": APP}),
    )
    .await
    .ok(201);
}

pub async fn grant_alice(s: &Server, policy: Option<&str>) {
    let r = s
        .post(
            "/api/v1/tenants/Contoso/grants",
            serde_json::json!({"policyName": policy, "grantee": {"kind": "user", "identity": "alice@contoso.com"}}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

pub async fn meeting(s: &Server, body: Value) -> Value {
    s.post("/api/v1/tenants/Contoso/onlineMeetings", body)
        .await
        .ok(201)
}

pub async fn explain(s: &Server, uri: &str) -> Value {
    s.post("/api/v1/explain", serde_json::json!({"requestUri": uri}))
        .await
        .ok(200)
}

/// Runs an async test body against SQLite and, when available, PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let s = common::start(common::Db::Sqlite, &["t.plcm.vc"])
                    .await
                    .expect("sqlite");
                ($body)(s).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(s) = common::start(common::Db::Postgres, &["t.plcm.vc"]).await {
                    ($body)(s).await;
                }
            }
        }
    };
}
