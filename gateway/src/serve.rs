//! `cvi serve`: the gateway process. Today: the provisioning API, health and readiness.

use crate::config::Config;
use anyhow::Context;
use cvi_provisioning_server::Store;
use cvi_provisioning_server::api::{self, AppState};
use tokio::net::TcpListener;

pub(crate) async fn run(config: Config, store: Store) -> anyhow::Result<()> {
    if config.admin_token.is_none() {
        tracing::warn!("no --admin-token / CVI_ADMIN_TOKEN: the operator API is closed");
    }
    let state = AppState::new(
        store.clone(),
        config.sip_domains.clone(),
        config.admin_token.as_deref(),
    );
    let listener = TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http_listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(http = %addr, sip_domains = ?config.sip_domains, "cvi gateway listening");
    if let Some(path) = &config.ready_file {
        let body = serde_json::json!({ "http": addr.to_string() }).to_string();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)?;
    }
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
