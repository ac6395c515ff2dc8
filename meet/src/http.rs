//! The page, its assets, and the WebSocket signalling session of each browser.

use crate::protocol::{self, ClientMsg, ServerMsg};
use crate::room::RoomCmd;
use crate::{MeetHub, MeetingInfo};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const PAGE: &str = include_str!("../assets/meet.html");
const SCRIPT: &str = include_str!("../assets/meet.js");
const STYLE: &str = include_str!("../assets/meet.css");
/// A page must say who it is this soon after connecting.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn router(hub: MeetHub) -> axum::Router {
    axum::Router::new()
        .route("/meet/assets/{file}", get(asset))
        .route("/meet/{id}", get(page))
        .route("/meet/{id}/ws", get(ws))
        .with_state(hub)
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "meet.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "meet.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page(State(hub): State<MeetHub>, Path(id): Path<String>) -> Response {
    match hub.lookup(&id).await {
        Some(_) => Html(PAGE).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>No such meeting</title><p>There is no meeting at this address. Check the link in the invitation.</p>"),
        )
            .into_response(),
    }
}

async fn ws(
    State(hub): State<MeetHub>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(meeting) = hub.lookup(&id).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let host = q.get("host").is_some_and(|k| hub.is_host(&id, k));
    upgrade
        .max_message_size(protocol::MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(hub, meeting, host, socket))
}

async fn send(socket: &mut WebSocket, m: &ServerMsg) -> bool {
    match serde_json::to_string(m) {
        Ok(t) => socket.send(Message::Text(t.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Waits for the page's `join`.
async fn wait_join(socket: &mut WebSocket) -> Option<String> {
    let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    loop {
        let m = tokio::time::timeout_at(deadline, socket.recv())
            .await
            .ok()??;
        match m.ok()? {
            Message::Text(t) => match protocol::parse(&t) {
                Ok(ClientMsg::Join { name }) => return Some(name),
                Ok(_) => {
                    send(socket, &err("join first")).await;
                }
                Err(e) => {
                    send(socket, &err(e)).await;
                }
            },
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

fn err(message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        message: message.into(),
    }
}

async fn session(hub: MeetHub, meeting: MeetingInfo, host: bool, mut socket: WebSocket) {
    let Some(name) = wait_join(&mut socket).await else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut joined = None;
    for _ in 0..2 {
        let Ok(room) = hub.room(&meeting).await else {
            break;
        };
        let (reply, reply_rx) = oneshot::channel();
        let cmd = RoomCmd::BrowserJoin {
            name: name.clone(),
            host,
            tx: tx.clone(),
            reply,
        };
        if room.send(cmd).is_err() {
            continue;
        }
        match reply_rx.await {
            Ok(Ok(id)) => {
                joined = Some((room, id));
                break;
            }
            Ok(Err(e)) => {
                send(&mut socket, &err(e)).await;
                return;
            }
            Err(_) => continue,
        }
    }
    let Some((room, id)) = joined else {
        send(&mut socket, &err("the meeting could not be started")).await;
        return;
    };
    loop {
        tokio::select! {
            m = socket.recv() => match m {
                Some(Ok(Message::Text(t))) => match protocol::parse(&t) {
                    Ok(ClientMsg::Leave) => break,
                    Ok(msg) => {
                        if room.send(RoomCmd::Browser { id, msg }).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        send(&mut socket, &err(e)).await;
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(m) => {
                    let bye = matches!(m, ServerMsg::Bye { .. });
                    if !send(&mut socket, &m).await || bye {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    let _ = room.send(RoomCmd::BrowserGone { id });
}
