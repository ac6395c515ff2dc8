//! Configuration: flags win over `CVI_*` environment variables, which win over the TOML
//! file (`--config`), which wins over the defaults.

use anyhow::Context;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub(crate) const DEFAULT_HTTP: &str = "127.0.0.1:8080";
pub(crate) const DEFAULT_DATABASE: &str = "sqlite://cvi.db";
pub(crate) const DEFAULT_SIP: &str = "0.0.0.0:5060";

#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "CVI_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP listen address (API, metrics, health) [default: 127.0.0.1:8080].
    #[arg(long, env = "CVI_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Database URL: sqlite://PATH (default sqlite://cvi.db) or postgres://…
    #[arg(long, env = "CVI_DATABASE")]
    pub database: Option<String>,
    /// A SIP domain this gateway answers for (repeatable; CVI_SIP_DOMAINS is comma-separated).
    /// None: the domains of all tenant keys.
    #[arg(long = "sip-domain", env = "CVI_SIP_DOMAINS", value_delimiter = ',')]
    pub sip_domains: Vec<String>,
    /// The operator's bearer token. Without one, only tenant-admin tokens work (and none
    /// can be issued), so set it.
    #[arg(long, env = "CVI_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Write `{"http":"ADDR","sipUdp":…}` to this file once listening (for scripts and tests).
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// SIP UDP+TCP listen address, or `none` [default: 0.0.0.0:5060].
    #[arg(long, env = "CVI_SIP_LISTEN")]
    pub sip_listen: Option<String>,
    /// SIP TLS listen address [default: port 5061 of --sip-listen when a certificate is set].
    #[arg(long, env = "CVI_SIP_TLS_LISTEN")]
    pub sip_tls_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM) for SIP over TLS.
    #[arg(long, env = "CVI_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "CVI_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) whose client certificates identify trusted callers (TLS peer domain).
    #[arg(long, env = "CVI_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Host written in Via and Contact [default: the listen IP; 127.0.0.1 for 0.0.0.0].
    #[arg(long, env = "CVI_SIP_HOST")]
    pub sip_host: Option<String>,
    /// Address for RTP sockets and SDP [default: the SIP host].
    #[arg(long, env = "CVI_RTP_IP")]
    pub rtp_ip: Option<std::net::IpAddr>,
    /// Concurrent calls; over it INVITEs get 503 with Retry-After [default: 500].
    #[arg(long, env = "CVI_MAX_CALLS")]
    pub max_calls: Option<usize>,
    /// Session-Expires we propose, seconds [default: 1800].
    #[arg(long, env = "CVI_SESSION_EXPIRES")]
    pub session_expires: Option<u32>,
    /// Smallest Session-Expires we accept (RFC 4028 Min-SE), seconds [default: 90].
    #[arg(long, env = "CVI_MIN_SE")]
    pub min_se: Option<u32>,
    /// Wrong conference IDs one source may enter in the IVR within 10 minutes before its
    /// IVR calls get "try again later" [default: 10].
    #[arg(long, env = "CVI_IVR_MAX_FAILURES")]
    pub ivr_max_failures: Option<usize>,
    /// Seconds without any RTP or RTCP from the caller before the call ends with BYE (a muted
    /// endpoint still sends RTCP); 0 disables [default: 60].
    #[arg(long, env = "CVI_MEDIA_TIMEOUT")]
    pub media_timeout: Option<u64>,
    /// Where meeting recordings are written [default: ./recordings].
    #[arg(long, env = "CVI_RECORDINGS_DIR")]
    pub recordings_dir: Option<PathBuf>,
    /// A STUN or TURN URL for the meeting pages (repeatable; CVI_ICE_SERVERS is
    /// comma-separated), e.g. stun:stun.example.org:3478, or with TURN credentials
    /// turn:USER:PASSWORD@turn.example.org:3478?transport=udp. None: host candidates only.
    #[arg(long = "ice-server", env = "CVI_ICE_SERVERS", value_delimiter = ',')]
    pub ice_servers: Vec<String>,
    /// Secret the organizers' `?host=` keys derive from; set the same on every node
    /// [default: derived from the admin token, else random at each start].
    #[arg(long, env = "CVI_MEET_SECRET", hide_env_values = true)]
    pub meet_secret: Option<String>,
    /// How a VTC's H.264 reaches the meeting's browsers: `auto` (forwarded without
    /// decoding where the browser negotiated its profile, transcoded otherwise) or
    /// `transcode` (always) [default: auto].
    #[arg(long, env = "CVI_MEET_VTC_VIDEO")]
    pub meet_vtc_video: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileConfig {
    http_listen: Option<SocketAddr>,
    database: Option<String>,
    sip_domains: Option<Vec<String>>,
    admin_token: Option<String>,
    sip_listen: Option<String>,
    sip_tls_listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    sip_host: Option<String>,
    rtp_ip: Option<std::net::IpAddr>,
    max_calls: Option<usize>,
    session_expires: Option<u32>,
    min_se: Option<u32>,
    ivr_max_failures: Option<usize>,
    media_timeout: Option<u64>,
    recordings_dir: Option<PathBuf>,
    ice_servers: Option<Vec<String>>,
    meet_secret: Option<String>,
    meet_vtc_video: Option<String>,
}

/// The merged configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub http_listen: SocketAddr,
    pub database: String,
    pub sip_domains: Vec<String>,
    pub admin_token: Option<String>,
    pub ready_file: Option<PathBuf>,
    pub sip: crate::sip::SipConfig,
    pub meet: MeetSettings,
}

/// A STUN/TURN server for the pages: the URL and, for `turn:USER:PASS@host`, the
/// credentials taken out of it.
pub(crate) fn ice_server(u: &str) -> cvi_meet::IceServer {
    let u = u.trim();
    let (scheme, rest) = u.split_once(':').unwrap_or((u, ""));
    if scheme.starts_with("turn")
        && let Some((creds, host)) = rest.rsplit_once('@')
        && let Some((user, pass)) = creds.split_once(':')
    {
        return cvi_meet::IceServer {
            urls: vec![format!("{scheme}:{host}")],
            username: Some(user.to_string()),
            credential: Some(pass.to_string()),
        };
    }
    cvi_meet::IceServer {
        urls: vec![u.to_string()],
        username: None,
        credential: None,
    }
}

/// The embedded meetings' settings.
#[derive(Debug, Clone)]
pub(crate) struct MeetSettings {
    pub recordings_dir: PathBuf,
    pub ice_servers: Vec<String>,
    pub secret: String,
    pub vtc_video: cvi_meet::VtcVideo,
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

impl ServeArgs {
    pub(crate) fn resolve(self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let default_http: SocketAddr = DEFAULT_HTTP.parse()?;
        let sip_domains = if self.sip_domains.is_empty() {
            file.sip_domains.unwrap_or_default()
        } else {
            self.sip_domains
        };
        let mut domains = Vec::with_capacity(sip_domains.len());
        for d in sip_domains
            .iter()
            .map(|d| d.trim())
            .filter(|d| !d.is_empty())
        {
            domains.push(
                cvi_provisioning::model::validate_domain(d)
                    .map_err(|m| anyhow::anyhow!("--sip-domain: {m}"))?,
            );
        }
        let sip_listen = match self
            .sip_listen
            .or(file.sip_listen)
            .as_deref()
            .map(str::trim)
        {
            Some("none") | Some("") => None,
            Some(a) => Some(
                a.parse::<SocketAddr>()
                    .map_err(|e| anyhow::anyhow!("--sip-listen {a}: {e}"))?,
            ),
            None => Some(DEFAULT_SIP.parse()?),
        };
        let sip = crate::sip::SipConfig {
            listen: sip_listen,
            tls_listen: self.sip_tls_listen.or(file.sip_tls_listen),
            tls_cert: self.tls_cert.or(file.tls_cert),
            tls_key: self.tls_key.or(file.tls_key),
            tls_client_ca: self.tls_client_ca.or(file.tls_client_ca),
            advertised_host: self.sip_host.or(file.sip_host),
            rtp_ip: self.rtp_ip.or(file.rtp_ip),
            max_calls: self.max_calls.or(file.max_calls).unwrap_or(500),
            session_expires: self
                .session_expires
                .or(file.session_expires)
                .unwrap_or(1800),
            min_se: self.min_se.or(file.min_se).unwrap_or(90),
            tcp_idle: std::time::Duration::from_secs(1900),
            ivr_max_failures: self
                .ivr_max_failures
                .or(file.ivr_max_failures)
                .unwrap_or(10),
            media_timeout_secs: self.media_timeout.or(file.media_timeout).unwrap_or(60),
        };
        let admin_token = self
            .admin_token
            .or(file.admin_token)
            .filter(|t| !t.is_empty());
        let ice_servers = if self.ice_servers.is_empty() {
            file.ice_servers.unwrap_or_default()
        } else {
            self.ice_servers
        };
        for u in &ice_servers {
            if !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:")) {
                anyhow::bail!("--ice-server {u}: expected a stun:, turn: or turns: URL");
            }
        }
        let secret = match self.meet_secret.or(file.meet_secret) {
            Some(s) if !s.is_empty() => s,
            _ => match &admin_token {
                Some(t) => format!("admin-token:{t}"),
                None => hex::encode(rand::random::<[u8; 16]>()),
            },
        };
        let meet = MeetSettings {
            recordings_dir: self
                .recordings_dir
                .or(file.recordings_dir)
                .unwrap_or_else(|| PathBuf::from("recordings")),
            ice_servers: ice_servers
                .into_iter()
                .map(|u| u.trim().to_string())
                .collect(),
            secret,
            vtc_video: match self
                .meet_vtc_video
                .or(file.meet_vtc_video)
                .as_deref()
                .map(str::trim)
            {
                None | Some("auto") => cvi_meet::VtcVideo::Auto,
                Some("transcode") => cvi_meet::VtcVideo::Transcode,
                Some(other) => {
                    anyhow::bail!("--meet-vtc-video {other}: expected auto or transcode")
                }
            },
        };
        if sip.tls_cert.is_some() != sip.tls_key.is_some() {
            anyhow::bail!("--tls-cert and --tls-key go together");
        }
        Ok(Config {
            sip,
            http_listen: self
                .http_listen
                .or(file.http_listen)
                .unwrap_or(default_http),
            database: self
                .database
                .or(file.database)
                .unwrap_or_else(|| DEFAULT_DATABASE.to_string()),
            sip_domains: domains,
            admin_token,
            ready_file: self.ready_file,
            meet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_servers_take_turn_credentials_out_of_the_url() {
        let t = ice_server(" turn:al:s3cr:et@turn.example.org:3478?transport=udp ");
        assert_eq!(t.urls, ["turn:turn.example.org:3478?transport=udp"]);
        assert_eq!(t.username.as_deref(), Some("al"));
        assert_eq!(t.credential.as_deref(), Some("s3cr:et"));
        let s = ice_server("stun:stun.example.org:3478");
        assert_eq!((s.urls.len(), s.username), (1, None));
        assert_eq!(ice_server("turn:host:3478").username, None);
    }

    #[test]
    fn flags_win_over_file_which_wins_over_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cvi.toml");
        std::fs::write(&path, "http_listen = \"127.0.0.1:9000\"\ndatabase = \"sqlite://x.db\"\nsip_domains = [\"t.plcm.vc\"]\n").expect("write");
        let c = ServeArgs {
            config: Some(path.clone()),
            database: Some("postgres://db/cvi".into()),
            ..ServeArgs::default()
        }
        .resolve()
        .expect("resolves");
        assert_eq!(c.http_listen.port(), 9000);
        assert_eq!(c.database, "postgres://db/cvi");
        assert_eq!(c.sip_domains, ["t.plcm.vc"]);
        let c = ServeArgs::default().resolve().expect("defaults");
        assert_eq!(c.http_listen.to_string(), DEFAULT_HTTP);
        assert_eq!(c.database, DEFAULT_DATABASE);
    }

    #[test]
    fn bad_file_and_bad_domain_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cvi.toml");
        std::fs::write(&path, "htp_listen = 1\n").expect("write");
        let e = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        }
        .resolve();
        assert!(e.is_err());
        let e = ServeArgs {
            sip_domains: vec!["bad domain".into()],
            ..ServeArgs::default()
        }
        .resolve();
        assert!(e.is_err());
    }
}
