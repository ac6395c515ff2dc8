//! The SIP front door: transports, the transaction-owning endpoint, one task per call.

mod call;
pub(crate) use call::CallInput;
mod endpoint;
mod ivr_driver;
mod media;
pub(crate) mod registry;
mod transport;

use anyhow::Context;
use cvi_media::sdp::LocalCapabilities;
use cvi_provisioning_server::Store;
use cvi_sip::transaction::Timers;
use registry::Registry;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the SIP side is configured with.
#[derive(Debug, Clone)]
pub(crate) struct SipConfig {
    /// UDP and TCP listen address; None disables SIP.
    pub listen: Option<SocketAddr>,
    pub tls_listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// CA for client certificates (TLS peer domain evidence); optional client auth.
    pub tls_client_ca: Option<PathBuf>,
    /// Host written in Via/Contact (default: the listen IP, or 127.0.0.1 for 0.0.0.0).
    pub advertised_host: Option<String>,
    /// Address for RTP sockets and the SDP c= line.
    pub rtp_ip: Option<IpAddr>,
    pub max_calls: usize,
    pub session_expires: u32,
    pub min_se: u32,
    pub tcp_idle: Duration,
    /// Failed IVR conference-ID attempts a source may make in 10 minutes.
    pub ivr_max_failures: usize,
    /// Seconds without any RTP/RTCP before a call is hung up; 0 disables.
    pub media_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub udp: u16,
    pub tcp: u16,
    pub tls: Option<u16>,
}

/// State shared by the endpoint and every call task.
pub(crate) struct SipShared {
    pub registry: Arc<Registry>,
    pub store: Store,
    pub served_domains: Vec<String>,
    pub timers: Timers,
    pub max_calls: usize,
    draining: AtomicBool,
    pub host: String,
    pub ports: Ports,
    pub rtp_ip: IpAddr,
    pub caps: LocalCapabilities,
    pub session_expires: u32,
    pub min_se: u32,
    pub brute: BruteForce,
    /// A call with no RTP or RTCP at all for this long ends with BYE (None: never).
    pub media_timeout: Option<Duration>,
    /// Slate encoders and prompt frames shared by every call.
    pub media: media::MediaShared,
    /// The embedded meetings VTCs join.
    pub meet: cvi_meet::MeetHub,
}

impl SipShared {
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// A running SIP side: its addresses and a handle to drain it.
pub(crate) struct SipHandle {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub tls: Option<SocketAddr>,
    pub shared: Arc<SipShared>,
}

impl SipHandle {
    pub(crate) fn drain(&self) {
        self.shared.draining.store(true, Ordering::Relaxed);
    }
}

fn tls_acceptor(cfg: &SipConfig) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
    let (Some(cert), Some(key)) = (&cfg.tls_cert, &cfg.tls_key) else {
        return Ok(None);
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &cfg.tls_client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)
                .with_context(|| format!("reading {}", ca.display()))?
            {
                roots.add(c?)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match")?;
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

/// Binds and starts the SIP side. Returns None when SIP is disabled.
pub(crate) async fn start(
    cfg: SipConfig,
    store: Store,
    served_domains: Vec<String>,
    registry: Arc<Registry>,
    meet: cvi_meet::MeetHub,
) -> anyhow::Result<Option<SipHandle>> {
    let Some(listen) = cfg.listen else {
        return Ok(None);
    };
    // Calls still signal without GStreamer, but carry no prompts, slates or decoding: say
    // which element is missing once, loudly, at start.
    if let Err(e) = tokio::task::spawn_blocking(cvi_media_gst::init).await? {
        tracing::error!(error = %e, "GStreamer is not usable: calls will have no media");
    }
    let (udp, tcp) = transport::bind_udp_tcp(listen).await?;
    let udp_addr = udp.local_addr()?;
    let tcp_addr = tcp.local_addr()?;
    let acceptor = tls_acceptor(&cfg)?;
    let tls = match (&acceptor, cfg.tls_listen) {
        (Some(a), Some(addr)) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding SIP TLS on {addr}"))?;
            Some((l, a.clone()))
        }
        (Some(a), None) => {
            let addr = SocketAddr::new(listen.ip(), if listen.port() == 0 { 0 } else { 5061 });
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding SIP TLS on {addr}"))?;
            Some((l, a.clone()))
        }
        (None, _) => None,
    };
    let tls_addr = match &tls {
        Some((l, _)) => Some(l.local_addr()?),
        None => None,
    };
    let host = cfg.advertised_host.clone().unwrap_or_else(|| {
        if listen.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            listen.ip().to_string()
        }
    });
    let rtp_ip = cfg
        .rtp_ip
        .unwrap_or_else(|| host.parse().unwrap_or(listen.ip()));
    let shared = Arc::new(SipShared {
        registry: registry.clone(),
        store,
        served_domains,
        timers: Timers::default(),
        max_calls: cfg.max_calls,
        draining: AtomicBool::new(false),
        host,
        ports: Ports {
            udp: udp_addr.port(),
            tcp: tcp_addr.port(),
            tls: tls_addr.map(|a| a.port()),
        },
        rtp_ip,
        caps: LocalCapabilities::default(),
        session_expires: cfg.session_expires,
        min_se: cfg.min_se,
        media_timeout: (cfg.media_timeout_secs > 0)
            .then(|| Duration::from_secs(cfg.media_timeout_secs)),
        brute: BruteForce::new(
            Duration::from_secs(600),
            cfg.ivr_max_failures,
            cfg.ivr_max_failures * 5,
        ),
        media: media::MediaShared::default(),
        meet,
    });
    let (in_tx, in_rx) = mpsc::channel(8192);
    let (cmd_tx, cmd_rx) = mpsc::channel(8192);
    let transports = transport::start(vec![udp], vec![tcp], tls, in_tx, registry, cfg.tcp_idle);
    let ep = endpoint::Endpoint::new(shared.clone(), transports, cmd_tx);
    tokio::spawn(ep.run(in_rx, cmd_rx));
    tracing::info!(udp = %udp_addr, tcp = %tcp_addr, tls = ?tls_addr, "SIP listening");
    Ok(Some(SipHandle {
        udp: udp_addr,
        tcp: tcp_addr,
        tls: tls_addr,
        shared,
    }))
}

/// Brute-force protection for the IVR: failed conference-ID attempts counted per source
/// address and per tenant key in a sliding window. A source over its limit gets the
/// "try again later" IVR; a tenant key over its limit is logged (blocking a key would let
/// anyone lock a tenant out).
pub(crate) struct BruteForce {
    window: Duration,
    per_source: usize,
    per_key: usize,
    sources: std::sync::Mutex<
        std::collections::HashMap<IpAddr, std::collections::VecDeque<std::time::Instant>>,
    >,
    keys: std::sync::Mutex<
        std::collections::HashMap<String, std::collections::VecDeque<std::time::Instant>>,
    >,
}

fn prune(
    q: &mut std::collections::VecDeque<std::time::Instant>,
    window: Duration,
    now: std::time::Instant,
) {
    while q
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) > window)
    {
        q.pop_front();
    }
}

impl BruteForce {
    pub(crate) fn new(window: Duration, per_source: usize, per_key: usize) -> Self {
        Self {
            window,
            per_source,
            per_key,
            sources: Default::default(),
            keys: Default::default(),
        }
    }

    pub(crate) fn blocked(&self, source: IpAddr, now: std::time::Instant) -> bool {
        let Ok(mut m) = self.sources.lock() else {
            return false;
        };
        match m.get_mut(&source) {
            Some(q) => {
                prune(q, self.window, now);
                q.len() >= self.per_source
            }
            None => false,
        }
    }

    /// Records a failure; returns (source now over its limit, key now over its limit).
    pub(crate) fn fail(&self, source: IpAddr, key: &str, now: std::time::Instant) -> (bool, bool) {
        let s = self.sources.lock().map(|mut m| {
            let q = m.entry(source).or_default();
            prune(q, self.window, now);
            q.push_back(now);
            q.len() >= self.per_source
        });
        let k = self.keys.lock().map(|mut m| {
            let q = m.entry(key.to_string()).or_default();
            prune(q, self.window, now);
            q.push_back(now);
            q.len() >= self.per_key
        });
        (s.unwrap_or(false), k.unwrap_or(false))
    }
}
