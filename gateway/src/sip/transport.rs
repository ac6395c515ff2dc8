//! SIP transports: UDP, TCP and TLS (rustls). Bytes in → parsed messages to the endpoint;
//! messages from the endpoint → bytes out on the right socket or connection.
//!
//! Streams are framed by Content-Length; a connection that sends nothing for `idle` is
//! closed, and so is one that sends garbage. The TLS peer's certificate DNS name (when the
//! client presents one that chains to the configured client CA) travels with every message
//! as "trusted caller" evidence.

use super::registry::Registry;
use anyhow::Context;
use cvi_sip::Message;
use cvi_sip::parse::{self, StreamItem};
use cvi_sip::transaction::{Peer, Transmit, Transport};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

/// Largest SIP message accepted on a stream.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug)]
pub(crate) struct Inbound {
    pub msg: Message,
    pub peer: Peer,
    pub tls_domain: Option<String>,
}

/// The sending side of every transport.
pub(crate) struct Transports {
    udp: Vec<Arc<UdpSocket>>,
    conns: Mutex<HashMap<u64, mpsc::Sender<Vec<u8>>>>,
    next_conn: AtomicU64,
}

impl Transports {
    /// Sends; failures (closed connection, full queue) are logged, not fatal.
    pub(crate) async fn send(&self, t: Transmit) {
        match t.to.transport {
            Transport::Udp => {
                let idx = t.to.conn.unwrap_or(0) as usize;
                if let Some(sock) = self.udp.get(idx).or_else(|| self.udp.first())
                    && let Err(e) = sock.send_to(&t.bytes, t.to.addr).await
                {
                    tracing::debug!(to = %t.to.addr, error = %e, "UDP send failed");
                }
            }
            Transport::Tcp | Transport::Tls => {
                let tx =
                    t.to.conn
                        .and_then(|c| self.conns.lock().ok()?.get(&c).cloned());
                match tx {
                    Some(tx) => {
                        if tx.try_send(t.bytes).is_err() {
                            tracing::debug!(to = %t.to.addr, "connection gone or congested; message dropped");
                        }
                    }
                    None => tracing::debug!(to = %t.to.addr, "no connection to send on"),
                }
            }
        }
    }

    fn register(&self, tx: mpsc::Sender<Vec<u8>>) -> u64 {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.conns.lock() {
            m.insert(id, tx);
        }
        id
    }

    fn unregister(&self, id: u64) {
        if let Ok(mut m) = self.conns.lock() {
            m.remove(&id);
        }
    }
}

/// Binds UDP and TCP on the same port (retrying when the port was chosen by the OS).
pub(crate) async fn bind_udp_tcp(addr: SocketAddr) -> anyhow::Result<(UdpSocket, TcpListener)> {
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("binding SIP UDP on {addr}"))?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() != 0 => {
                return Err(e).with_context(|| format!("binding SIP TCP on {addr}"));
            }
            Err(_) => continue,
        }
    }
    anyhow::bail!("no port free for both UDP and TCP on {}", addr.ip())
}

/// Starts the receive loops. Returns the shared sender side.
pub(crate) fn start(
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
    tls: Option<(TcpListener, TlsAcceptor)>,
    to_endpoint: mpsc::Sender<Inbound>,
    registry: Arc<Registry>,
    idle: Duration,
) -> Arc<Transports> {
    let udp: Vec<Arc<UdpSocket>> = udp.into_iter().map(Arc::new).collect();
    let transports = Arc::new(Transports {
        udp: udp.clone(),
        conns: Mutex::new(HashMap::new()),
        next_conn: AtomicU64::new(1),
    });
    for (idx, sock) in udp.into_iter().enumerate() {
        tokio::spawn(udp_loop(
            sock,
            idx as u64,
            to_endpoint.clone(),
            registry.clone(),
        ));
    }
    for l in tcp {
        let (t, tx, r) = (transports.clone(), to_endpoint.clone(), registry.clone());
        tokio::spawn(async move {
            loop {
                match l.accept().await {
                    Ok((s, addr)) => {
                        let _ = s.set_nodelay(true);
                        tokio::spawn(stream_conn(
                            s,
                            addr,
                            Transport::Tcp,
                            None,
                            t.clone(),
                            tx.clone(),
                            r.clone(),
                            idle,
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "TCP accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    if let Some((l, acceptor)) = tls {
        let (t, tx, r) = (transports.clone(), to_endpoint.clone(), registry.clone());
        tokio::spawn(async move {
            loop {
                match l.accept().await {
                    Ok((s, addr)) => {
                        let _ = s.set_nodelay(true);
                        let (acceptor, t, tx, r) =
                            (acceptor.clone(), t.clone(), tx.clone(), r.clone());
                        tokio::spawn(async move {
                            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(s))
                                .await
                            {
                                Ok(Ok(stream)) => {
                                    let domain = peer_domain(&stream);
                                    stream_conn(
                                        stream,
                                        addr,
                                        Transport::Tls,
                                        domain,
                                        t,
                                        tx,
                                        r,
                                        idle,
                                    )
                                    .await;
                                }
                                Ok(Err(e)) => {
                                    tracing::info!(peer = %addr, error = %e, "TLS handshake failed")
                                }
                                Err(_) => tracing::info!(peer = %addr, "TLS handshake timed out"),
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "TLS accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    transports
}

fn peer_domain(stream: &tokio_rustls::server::TlsStream<TcpStream>) -> Option<String> {
    let (_, conn) = stream.get_ref();
    let cert = conn.peer_certificates()?.first()?;
    let ee = webpki::EndEntityCert::try_from(cert).ok()?;
    let name = ee.valid_dns_names().next()?.to_ascii_lowercase();
    Some(name)
}

async fn udp_loop(
    sock: Arc<UdpSocket>,
    idx: u64,
    to_endpoint: mpsc::Sender<Inbound>,
    registry: Arc<Registry>,
) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, addr) = match sock.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(e) => {
                // ICMP port unreachable surfaces here on Linux; keep serving.
                tracing::trace!(error = %e, "UDP receive error");
                continue;
            }
        };
        let data = buf.get(..n).unwrap_or_default();
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            continue; // keep-alive
        }
        match parse::parse_datagram(data) {
            Ok(msg) => {
                let inbound = Inbound {
                    msg,
                    peer: Peer {
                        transport: Transport::Udp,
                        addr,
                        conn: Some(idx),
                    },
                    tls_domain: None,
                };
                if to_endpoint.try_send(inbound).is_err() {
                    registry
                        .metrics
                        .overload_drops
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                registry
                    .metrics
                    .parse_errors
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(peer = %addr, error = %e, "unparsable datagram dropped");
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn stream_conn<S: AsyncRead + AsyncWrite + Send + 'static>(
    stream: S,
    addr: SocketAddr,
    transport: Transport,
    tls_domain: Option<String>,
    transports: Arc<Transports>,
    to_endpoint: mpsc::Sender<Inbound>,
    registry: Arc<Registry>,
    idle: Duration,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
    let id = transports.register(tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let peer = Peer {
        transport,
        addr,
        conn: Some(id),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    'conn: loop {
        let n = match tokio::time::timeout(idle, rd.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => n,
            Err(_) => {
                tracing::debug!(peer = %addr, "idle connection closed");
                break;
            }
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        loop {
            match parse::parse_stream(&buf, MAX_MESSAGE) {
                Ok(None) => break,
                Ok(Some((item, used))) => {
                    buf.drain(..used.min(buf.len()));
                    match item {
                        StreamItem::KeepAlive => {
                            let _ = tx.try_send(b"\r\n".to_vec());
                        }
                        StreamItem::Message(msg) => {
                            let inbound = Inbound {
                                msg,
                                peer,
                                tls_domain: tls_domain.clone(),
                            };
                            if to_endpoint.send(inbound).await.is_err() {
                                break 'conn;
                            }
                        }
                    }
                }
                Err(e) => {
                    registry
                        .metrics
                        .parse_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(peer = %addr, error = %e, "unparsable data on stream; closing the connection");
                    break 'conn;
                }
            }
        }
    }
    transports.unregister(id);
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}
