//! The durable store. One schema for SQLite and PostgreSQL (see `migrations/`), reached
//! through sqlx's `Any` driver. Every write is one transaction with its audit row.
//!
//! SQLite: a file in WAL mode; writes go through a single-connection pool (no
//! `SQLITE_BUSY` between writers), reads through a pool of their own.

mod audit;
mod consents;
mod federation;
mod grants;
mod meetings;
mod providers;
mod snapshot;
mod tenants;
mod tokens;
mod users;

pub use audit::AuditEntry;
pub use federation::FederationCheck;
pub use grants::EffectivePolicies;
pub use meetings::{DEFAULT_EXPIRY_AFTER_END, MeetingView, NewMeeting};
pub use providers::ProviderPatch;
pub use tokens::{IssuedToken, TokenInfo, TokenSummary, hash_token};
pub use users::{NewUser, UserPatch};

use chrono::{DateTime, TimeZone, Utc};
use cvi_provisioning::FieldError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error()
            && db.is_unique_violation()
        {
            let m = db.message().to_string();
            let c = db.constraint().unwrap_or_default().to_string();
            let field = [
                ("tenant_key", "tenantKey"),
                ("name_lower", "name"),
                ("identity", "identity"),
                ("grant_rank", "rank"),
                ("vtc_id", "videoTeleconferenceId"),
                ("upn", "userPrincipalName"),
            ]
            .iter()
            .find(|(col, _)| m.contains(col) || c.contains(col))
            .map(|(_, f)| *f)
            .unwrap_or("body");
            return StoreError::Conflict {
                field: field.to_string(),
                message: format!("{field}: already exists"),
            };
        }
        StoreError::Db(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Who made a change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(
                FieldError::new("database", "expected sqlite://PATH or postgres://URL").into(),
            );
        };
        let store = match backend {
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Store {
                    read: pool.clone(),
                    write: pool,
                    backend,
                }
            }
            Backend::Sqlite => {
                let url = if url.contains("mode=") || url.contains(":memory:") {
                    url.to_string()
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(sqlite_pragmas)
                    .connect(&url)
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(sqlite_pragmas)
                    .connect(&url)
                    .await?;
                Store {
                    read,
                    write,
                    backend,
                }
            }
        };
        MIGRATOR
            .run(&store.write)
            .await
            .map_err(|e| StoreError::Db(sqlx::Error::Migrate(Box::new(e))))?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

type PragmaFuture<'c> = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::result::Result<(), sqlx::Error>> + Send + 'c>,
>;

fn sqlite_pragmas<'c>(
    conn: &'c mut sqlx::AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> PragmaFuture<'c> {
    Box::pin(async move {
        for p in [
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=10000",
            "PRAGMA synchronous=NORMAL",
        ] {
            sqlx::query(p).execute(&mut *conn).await?;
        }
        Ok(())
    })
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn json_list<T: serde::Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn parse_list<T: serde::de::DeserializeOwned>(s: &str) -> Vec<T> {
    serde_json::from_str(s).unwrap_or_default()
}

pub(crate) fn get_s(r: &AnyRow, c: &str) -> Result<String> {
    Ok(r.try_get::<String, _>(c)?)
}
pub(crate) fn get_os(r: &AnyRow, c: &str) -> Result<Option<String>> {
    Ok(r.try_get::<Option<String>, _>(c)?)
}
pub(crate) fn get_i(r: &AnyRow, c: &str) -> Result<i64> {
    Ok(r.try_get::<i64, _>(c)?)
}
pub(crate) fn get_b(r: &AnyRow, c: &str) -> Result<bool> {
    Ok(get_i(r, c)? != 0)
}
pub(crate) fn get_uuid(r: &AnyRow, c: &str) -> Result<uuid::Uuid> {
    let s = get_s(r, c)?;
    uuid::Uuid::parse_str(&s).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
}
