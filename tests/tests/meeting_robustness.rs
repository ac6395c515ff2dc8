//! Bad input on the meeting side never crashes anything and never spoils the meeting for
//! others: unknown pages are 404, and on the signalling WebSocket garbage JSON, messages
//! before `join`, a damaged SDP offer, an answer nobody asked for, bogus candidates, a
//! guest trying the organizer's controls and an oversized frame each get a clear `error`
//! (or close only that connection), while the page that sent them stays in the meeting and
//! another page joins and sees it.

mod sip_support;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use sip_support::{Gateway, Opts};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

fn connect(gw: &Gateway, path: &str) -> Result<Ws> {
    let (ws, _) = tungstenite::connect(format!("ws://{}{path}", gw.http))
        .with_context(|| format!("connecting to {path}"))?;
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
    }
    Ok(ws)
}

fn send(ws: &mut Ws, v: &Value) -> Result<()> {
    ws.send(Message::text(v.to_string()))?;
    Ok(())
}

/// The next JSON message of `kind`, skipping others; fails on close or after 10 s.
fn next(ws: &mut Ws, kind: &str) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value =
                    serde_json::from_str(&t).with_context(|| format!("not JSON: {t}"))?;
                if v["type"] == kind {
                    return Ok(v);
                }
                seen.push(v["type"].to_string());
            }
            Ok(Message::Close(c)) => bail!("closed while waiting for {kind}: {c:?}"),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => bail!("waiting for {kind}: {e} (seen {seen:?})"),
        }
    }
    bail!("no {kind} within 10 s (seen {seen:?})")
}

/// The next `error`'s text.
fn error(ws: &mut Ws) -> Result<String> {
    Ok(next(ws, "error")?["message"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[test]
fn bad_signalling_gets_errors_and_the_meeting_goes_on() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let (_, meeting) = gw.provision_meeting()?;
    for path in [
        "/meet/not-a-meeting".to_string(),
        "/meet/00000000-0000-4000-8000-000000000000".into(),
        "/meet/assets/nope.js".into(),
    ] {
        let r = gw.http("GET", &path, None)?;
        ensure!(r.status == 404, "{path}: {} {}", r.status, r.body);
    }
    let page = gw.http("GET", &format!("/meet/{meeting}"), None)?;
    ensure!(
        page.status == 200 && page.body.contains("meet.js"),
        "{page:?}"
    );

    ensure!(
        connect(&gw, "/meet/00000000-0000-4000-8000-000000000000/ws").is_err(),
        "no signalling for a meeting that does not exist"
    );
    let mut a = connect(&gw, &format!("/meet/{meeting}/ws"))?;
    a.send(Message::text("{"))?;
    ensure!(error(&mut a)?.contains("bad message"), "garbage JSON");
    send(&mut a, &json!({"type": "offer", "sdp": "v=0"}))?;
    ensure!(error(&mut a)?.contains("join first"), "offer before join");
    a.send(Message::binary(vec![0u8, 159, 146, 150]))?;
    send(&mut a, &json!({"type": "join", "name": "Mallory\u{7}  "}))?;
    let joined = next(&mut a, "joined")?;
    ensure!(joined["host"] == false, "no host key, no host: {joined}");
    let me = joined["id"].as_str().context("id")?.to_string();

    let damaged = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/sdp/13-polycom-fragment.sdp"),
    )?;
    for sdp in [
        damaged.as_str(),
        "",
        "v=0\r\nm=video x RTP/AVP 96\r\n",
        "\u{0}\u{1}",
    ] {
        send(&mut a, &json!({"type": "offer", "sdp": sdp}))?;
        let e = error(&mut a)?;
        ensure!(e.contains("offer"), "a bad offer must say so: {e}");
    }
    send(&mut a, &json!({"type": "answer", "sdp": "v=0"}))?;
    ensure!(
        error(&mut a)?.contains("without an offer"),
        "unasked answer"
    );
    send(
        &mut a,
        &json!({"type": "candidate", "candidate": "candidate:x y z"}),
    )?;
    send(&mut a, &json!({"type": "candidate", "candidate": null}))?;
    send(&mut a, &json!({"type": "admit", "id": "p99"}))?;
    ensure!(error(&mut a)?.contains("organizer"), "a guest admitting");
    send(&mut a, &json!({"type": "recording", "on": true}))?;
    ensure!(error(&mut a)?.contains("organizer"), "a guest recording");

    // Another page joins; the first is still in the meeting and both see each other.
    let mut b = connect(&gw, &format!("/meet/{meeting}/ws"))?;
    send(&mut b, &json!({"type": "join", "name": "Bob"}))?;
    next(&mut b, "joined")?;
    let roster = next(&mut b, "roster")?;
    let names: Vec<&str> = roster["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    ensure!(names == ["Mallory", "Bob"], "roster {roster}");
    send(
        &mut a,
        &json!({"type": "mute", "audio": true, "video": false}),
    )?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = next(&mut b, "roster")?;
        let muted = r["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["id"] == me.as_str() && p["audioMuted"] == true);
        if muted {
            break;
        }
        ensure!(Instant::now() < deadline, "the mute never showed: {r}");
    }

    // An oversized frame ends only that connection.
    let huge = json!({"type": "offer", "sdp": "x".repeat(300 * 1024)});
    let _ = a.send(Message::text(huge.to_string()));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match a.read() {
            Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => break,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
            Ok(_) => {}
        }
        ensure!(
            Instant::now() < deadline,
            "an oversized frame must close the connection"
        );
    }
    let r = next(&mut b, "roster")?;
    ensure!(
        r["participants"].as_array().map(Vec::len) == Some(1),
        "Mallory left when her connection closed: {r}"
    );
    ensure!(
        gw.metric("cvi_meeting_rooms")? == 1,
        "one room open while Bob is in it"
    );
    let health = gw.http("GET", "/healthz", None)?;
    ensure!(health.status == 200, "{health:?}");
    Ok(())
}
