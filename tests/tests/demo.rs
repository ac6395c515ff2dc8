//! End to end: `cvi demo` on ports it picks (0) prints the addresses it really listens on,
//! and the meeting page and SIP address it prints answer.
//!
//! This test runs the binary, it does not build it (`cargo build --bins` first).

use anyhow::{Context, Result, bail, ensure};
use cvi_e2e::cvi_bin;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the demo when the test ends, however it ends.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first `http://…` or `sip:…@…` address on a line of the banner after `marker`.
fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &line[line.find(marker)? + marker.len()..];
    Some(rest.split_whitespace().next().unwrap_or(rest))
}

#[test]
fn demo_on_port_zero_prints_where_it_listens() -> Result<()> {
    let mut child = Command::new(cvi_bin()?)
        .args([
            "demo",
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            "127.0.0.1:0",
        ])
        .env("CVI_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting cvi demo")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let _demo = Demo(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut guest, mut sip) = (None, None);
    while guest.is_none() || sip.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .context("cvi demo printed no guest URL and SIP address within 30 s")?;
        if let Some(url) = after(&line, "guests:") {
            guest = Some(url.to_string());
        }
        if line.trim_start().starts_with("sip:") && line.contains("@127.0.0.1:") {
            sip = after(&line, "@").map(str::to_string);
        }
    }
    let (guest, sip) = (guest.unwrap_or_default(), sip.unwrap_or_default());

    // The page: a real port, and it serves the meeting's HTML.
    let rest = guest.strip_prefix("http://").context("guest URL")?;
    let (host, path) = rest.split_once('/').context("guest URL path")?;
    let http: SocketAddr = host
        .parse()
        .with_context(|| format!("address in {guest}"))?;
    ensure!(http.port() != 0, "the banner shows port 0: {guest}");
    let mut s = TcpStream::connect(http)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut page = String::new();
    s.read_to_string(&mut page)?;
    ensure!(page.starts_with("HTTP/1.1 200"), "GET {guest}: {page:.200}");
    ensure!(page.contains("<html"), "not the meeting page: {page:.300}");

    // The SIP address: a real port, and a SIP server answers OPTIONS on it.
    let sip: SocketAddr = sip.parse().with_context(|| format!("SIP address {sip}"))?;
    ensure!(sip.port() != 0, "the banner shows SIP port 0");
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    udp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let me = udp.local_addr()?;
    let options = format!(
        "OPTIONS sip:{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKdemo1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:{sip}>\r\n\
         Call-ID: demo-options-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    udp.send_to(options.as_bytes(), sip)?;
    let mut buf = [0u8; 4096];
    let (n, _) = udp.recv_from(&mut buf).context("no answer to OPTIONS")?;
    let answer = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
    if !answer.starts_with("SIP/2.0 ") {
        bail!("not a SIP response: {answer:.200}");
    }
    Ok(())
}
