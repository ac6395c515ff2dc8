//! The provisioning service: a durable store (sqlx; SQLite embedded, PostgreSQL for many
//! nodes) and the REST API (axum) over the pure model in `cvi-provisioning`.

pub mod api;
pub mod store;

pub use store::{Actor, Store, StoreError};
