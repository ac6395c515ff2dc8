//! What the caller sees and hears outside the IVR, and keyframe requests by SIP INFO.

use super::*;

/// RFC 5168 §3: the XML body of a SIP INFO asking for a full frame.
const FAST_UPDATE_XML: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n<media_control>\r\n  <vc_primitive>\r\n    <to_encoder>\r\n      <picture_fast_update/>\r\n    </to_encoder>\r\n  </vc_primitive>\r\n</media_control>\r\n";

impl Call {
    /// A direct-dial caller waiting for admission: the lobby slate and music.
    pub(super) fn show_lobby(&self) {
        let Some(m) = &self.media else { return };
        let slate = cvi_ivr::Slate::render(
            cvi_ivr::SlateKind::Lobby { meeting_name: None },
            &cvi_ivr::Language::english(),
        );
        m.send(MediaCmd::Slate(slate.lines));
        m.send(MediaCmd::Play {
            id: None,
            lang: String::new(),
            name: "lobby".into(),
            looped: true,
        });
    }

    /// The caller is in the meeting. Until the meeting side sends its layout, the caller
    /// sees that it is connected; its own video is decoded from now on.
    pub(super) fn show_connected(&mut self) {
        self.in_meeting = true;
        let Some(m) = &self.media else { return };
        m.send(MediaCmd::StopAudio);
        let provider = self
            .ctx
            .shared
            .registry
            .get(&self.ctx.call_id)
            .and_then(|c| c.provider)
            .unwrap_or_default();
        let mut lines = vec!["You are in the meeting".to_string()];
        if !provider.is_empty() {
            lines.push(provider);
        }
        m.send(MediaCmd::Slate(lines));
        m.send(MediaCmd::Connected);
    }

    /// Asks the caller for a keyframe by SIP INFO (it negotiated neither PLI nor FIR).
    pub(super) async fn send_fast_update(&mut self) {
        let (sent_by, transport) = (self.sent_by(), self.ctx.peer.transport.as_str());
        let Some(d) = self.dialog.as_mut() else {
            return;
        };
        let mut info = d.request(Method::Info, &sent_by, transport);
        info.headers
            .push("Content-Type", "application/media_control+xml");
        info.body = FAST_UPDATE_XML.as_bytes().to_vec();
        tracing::debug!("asking the caller for a keyframe by SIP INFO");
        self.send(Cmd::Request {
            req: info,
            to: self.ctx.peer,
            call_id: self.ctx.call_id.clone(),
        })
        .await;
    }
}
