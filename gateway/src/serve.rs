//! `cvi serve`: the gateway process — SIP front door, provisioning API, live calls API,
//! metrics, health and readiness.

use crate::config::Config;
use crate::sip::registry::Registry;
use anyhow::Context;
use cvi_provisioning_server::Store;
use cvi_provisioning_server::api::{self, AppState};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Where the gateway listens, once bound (ports asked as 0 resolved).
pub(crate) struct Bound {
    pub http: std::net::SocketAddr,
    pub sip_udp: Option<std::net::SocketAddr>,
}

pub(crate) async fn run(config: Config, store: Store) -> anyhow::Result<()> {
    run_with(config, store, |_| {}).await
}

/// [`run`], calling `on_ready` once every socket is bound, before requests are served.
pub(crate) async fn run_with(
    config: Config,
    store: Store,
    on_ready: impl FnOnce(&Bound),
) -> anyhow::Result<()> {
    if config.admin_token.is_none() {
        tracing::warn!("no --admin-token / CVI_ADMIN_TOKEN: the operator API is closed");
    }
    let state = AppState::new(
        store.clone(),
        config.sip_domains.clone(),
        config.admin_token.as_deref(),
    );
    let registry = Arc::new(Registry::default());
    let meet = meet_hub(&config, store.clone());
    let sip = crate::sip::start(
        config.sip.clone(),
        store.clone(),
        state.served_domains.to_vec(),
        registry.clone(),
        meet.clone(),
    )
    .await?
    .map(Arc::new);
    let live = crate::calls_api::Live {
        registry,
        sip: sip.clone(),
        meet: meet.clone(),
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
    on_ready(&Bound {
        http: addr,
        sip_udp: sip.as_ref().map(|s| s.udp),
    });
    let app = api::router(state.clone())
        .merge(crate::calls_api::routes(live).with_state(state))
        .merge(meet.router());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The embedded meetings: pages for the meetings in the store, media on the RTP address.
fn meet_hub(config: &Config, store: Store) -> cvi_meet::MeetHub {
    let media_ip = config
        .sip
        .rtp_ip
        .or_else(|| config.sip.advertised_host.as_deref()?.parse().ok())
        .or_else(|| {
            config
                .sip
                .listen
                .map(|l| l.ip())
                .filter(|ip| !ip.is_unspecified())
        })
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let lookup: cvi_meet::Lookup = Arc::new(move |id: String| {
        let store = store.clone();
        Box::pin(async move {
            match store.live_meeting(&id, chrono::Utc::now()).await {
                Ok(m) => m.map(|m| cvi_meet::MeetingInfo {
                    id: m.id.to_string(),
                    title: m.subject,
                }),
                Err(e) => {
                    tracing::warn!("meeting lookup failed: {e}");
                    None
                }
            }
        })
    });
    cvi_meet::MeetHub::new(
        cvi_meet::MeetConfig {
            media_ip,
            ice_servers: config
                .meet
                .ice_servers
                .iter()
                .map(|u| crate::config::ice_server(u))
                .collect(),
            recordings_dir: Some(config.meet.recordings_dir.clone()),
            host_secret: config.meet.secret.clone(),
            vtc_video: config.meet.vtc_video,
        },
        lookup,
    )
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
