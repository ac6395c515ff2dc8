//! `cvi serve`: the gateway process — SIP front door, provisioning API, live calls API,
//! metrics, health and readiness.

use crate::config::Config;
use crate::sip::registry::Registry;
use anyhow::Context;
use cvi_provisioning_server::Store;
use cvi_provisioning_server::api::{self, AppState};
use std::sync::Arc;
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
    let registry = Arc::new(Registry::default());
    let sip = crate::sip::start(
        config.sip.clone(),
        store.clone(),
        state.served_domains.to_vec(),
        registry.clone(),
    )
    .await?
    .map(Arc::new);
    let live = crate::calls_api::Live {
        registry,
        sip: sip.clone(),
    };
    let listener = TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http_listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(http = %addr, sip_domains = ?config.sip_domains, "cvi gateway listening");
    if let Some(path) = &config.ready_file {
        let body = serde_json::json!({
            "http": addr.to_string(),
            "sipUdp": sip.as_ref().map(|s| s.udp.to_string()),
            "sipTcp": sip.as_ref().map(|s| s.tcp.to_string()),
            "sipTls": sip.as_ref().and_then(|s| s.tls.map(|a| a.to_string())),
        })
        .to_string();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)?;
    }
    let app = api::router(state.clone()).merge(crate::calls_api::routes(live).with_state(state));
    axum::serve(listener, app)
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
