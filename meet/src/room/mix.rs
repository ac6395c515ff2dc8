//! What the room decodes and encodes: the composite views VTCs receive (one shared encoder
//! per layout and encoding, whatever the number of VTCs watching it), their audio mixes
//! (everyone but themselves), the recording, and the notices.

use super::vtcs::VtcState;
use super::*;
use crate::vtc::VtcMediaOut;
use cvi_media_gst::{
    CompositeLayout, CompositeSubscription, H264Profile, Mixer, Recorder, SlateParams, TileSpec,
    VideoCodec,
};
use cvi_meeting::{Layout, NoticeAction, tiles};
use std::path::PathBuf;

/// Nobody, as a layout viewer: shared views show everyone.
const NOBODY: Pid = Pid(0);

/// A running composite output the room keeps a handle on (to change its layout).
struct View {
    key: String,
    layout: Layout,
    /// Who is left out of the picture: the speaker's own view, or [`NOBODY`] (shared).
    viewer: Pid,
    params: SlateParams,
    handle: CompositeSubscription,
    /// What it shows now.
    last: CompositeLayout,
}

/// A view for the API: which picture, at what size, with whom where.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewStatus {
    pub view: String,
    pub width: u32,
    pub height: u32,
    pub tiles: Vec<TileStatus>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TileStatus {
    pub participant: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

struct Recording {
    path: PathBuf,
    audio: mpsc::Sender<Vec<i16>>,
    stop: Option<oneshot::Sender<()>>,
}

/// A VTC's video decoded and re-encoded for browsers that cannot take it as it is.
struct Transcode {
    vtc: Pid,
    handle: CompositeSubscription,
    task: tokio::task::AbortHandle,
}

impl Drop for Transcode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
pub(super) struct MixState {
    mixer: Option<Mixer>,
    keyframes: Option<mpsc::UnboundedReceiver<u64>>,
    views: Vec<View>,
    recording: Option<Recording>,
    transcodes: Vec<Transcode>,
}

impl MixState {
    /// Audio is mixed while a VTC is in the meeting or the meeting is recorded.
    pub(super) fn needed(&self) -> bool {
        !self.views.is_empty() || self.recording.is_some()
    }

    pub(super) fn video_needed(&self) -> bool {
        self.mixer.is_some() && (self.needed() || !self.transcodes.is_empty())
    }

    /// Asks the transcoder of a VTC's video for an IDR (a browser's PLI).
    pub(super) fn transcode_keyframe(&self, vtc: Pid) -> bool {
        match self.transcodes.iter().find(|t| t.vtc == vtc) {
            Some(t) => {
                t.handle.request_keyframe();
                true
            }
            None => false,
        }
    }

    pub(super) fn encoders(&self) -> usize {
        self.mixer.as_ref().map_or(0, |m| m.active_encoders())
    }

    pub(super) fn decoders(&self) -> usize {
        self.mixer.as_ref().map_or(0, |m| m.active_decoders())
    }

    pub(super) fn take_keyframe_rx(&mut self) -> Option<mpsc::UnboundedReceiver<u64>> {
        self.keyframes.take()
    }

    pub(super) fn put_keyframe_rx(&mut self, rx: mpsc::UnboundedReceiver<u64>) {
        self.keyframes = Some(rx);
    }

    /// A participant's encoded frame, decoded only if some view shows it.
    pub(super) fn push_video(&self, source: Pid, codec: VideoCodec, frame: &[u8], keyframe: bool) {
        if let Some(m) = &self.mixer
            && self.shows(source)
        {
            m.push(source.0, codec, frame, keyframe);
        }
    }

    pub(super) fn shows(&self, source: Pid) -> bool {
        self.transcodes.iter().any(|t| t.vtc == source)
            || self
                .views
                .iter()
                .any(|v| v.last.tiles.iter().any(|t| t.source == source.0))
    }

    pub(super) fn views(&self) -> Vec<ViewStatus> {
        self.views
            .iter()
            .map(|v| ViewStatus {
                view: v.key.clone(),
                width: v.params.width,
                height: v.params.height,
                tiles: v
                    .last
                    .tiles
                    .iter()
                    .map(|t| TileStatus {
                        participant: participant_ref(Pid(t.source)),
                        x: t.x,
                        y: t.y,
                        w: t.w,
                        h: t.h,
                    })
                    .collect(),
            })
            .collect()
    }

    pub(super) fn remove_source(&self, source: Pid) {
        if let Some(m) = &self.mixer {
            m.remove_source(source.0);
        }
    }

    fn mixer(&mut self) -> Option<Mixer> {
        if self.mixer.is_none() {
            match Mixer::new() {
                Ok(m) => {
                    self.keyframes = Some(m.keyframe_requests());
                    self.mixer = Some(m);
                }
                Err(e) => tracing::error!("no composite mixer: {e}"),
            }
        }
        self.mixer.clone()
    }

    /// Stops views nobody watches.
    pub(super) fn drop_unused_views(&mut self, vtcs: &[VtcState]) {
        let recording = self.recording.is_some();
        self.views.retain(|v| {
            (v.key == RECORDING_VIEW && recording)
                || vtcs.iter().any(|t| {
                    t.view.as_deref() == Some(&v.key) && t.params.as_ref() == Some(&v.params)
                })
        });
    }
}

const RECORDING_VIEW: &str = "recording";

/// What browsers that cannot take a VTC's H.264 get: constrained baseline 720p30.
fn transcode_params() -> SlateParams {
    SlateParams {
        width: 1280,
        height: 720,
        fps: 30,
        bitrate_kbps: 1500,
        profile: H264Profile::ConstrainedBaseline,
        max_nal_bytes: None,
    }
}

impl Room {
    /// The composite layout of a view: everyone (but `viewer`) in join order, the speaker
    /// large.
    fn composite_layout(
        &self,
        layout: Layout,
        params: &SlateParams,
        viewer: Pid,
    ) -> CompositeLayout {
        let cells = tiles(
            layout,
            params.width,
            params.height,
            &self.order,
            self.speaker.active(),
            viewer,
        );
        let tiles = cells
            .into_iter()
            .map(|c| {
                let (label, muted) = self.label(c.participant);
                TileSpec {
                    source: c.participant.0,
                    x: c.x,
                    y: c.y,
                    w: c.w,
                    h: c.h,
                    label,
                    muted,
                }
            })
            .collect();
        CompositeLayout {
            tiles,
            notice: self.notices.overlay_text().map(str::to_string),
        }
    }

    fn label(&self, id: Pid) -> (String, bool) {
        if let Some(p) = self.peers.iter().find(|p| p.id == id) {
            (p.name.clone(), p.audio_muted)
        } else if let Some(v) = self.vtcs.iter().find(|v| v.id == id) {
            (v.name.clone(), v.muted)
        } else {
            (String::new(), false)
        }
    }

    /// Which view a VTC watches: VTCs with the same layout and encoding share one picture
    /// (one encode) that shows everyone, themselves included; the active speaker of a
    /// speaker layout gets its own, without itself, so it never watches itself large.
    fn view_of(&self, v: &VtcState) -> (String, Pid) {
        if v.layout == Layout::SpeakerPlus7 && self.speaker.active() == Some(v.id) {
            (
                format!("{}-{}", v.layout.as_str(), participant_ref(v.id)),
                v.id,
            )
        } else {
            (v.layout.as_str().to_string(), NOBODY)
        }
    }

    /// Gives a VTC its view (after it entered, its encoding is known, its layout changed, or
    /// it became or stopped being the speaker).
    pub(super) fn subscribe_vtc(&mut self, id: Pid) {
        let Some(v) = self.vtcs.iter().find(|v| v.id == id && v.entered) else {
            return;
        };
        let (Some(params), layout) = (v.params.clone(), v.layout) else {
            return;
        };
        let (key, viewer) = self.view_of(v);
        let Some(mixer) = self.mix.mixer() else {
            return;
        };
        let composite = self.composite_layout(layout, &params, viewer);
        if !self
            .mix
            .views
            .iter()
            .any(|w| w.key == key && w.params == params)
        {
            match mixer.output(&key, &params, &composite) {
                Ok(handle) => self.mix.views.push(View {
                    key: key.clone(),
                    layout,
                    viewer,
                    params: params.clone(),
                    handle,
                    last: composite.clone(),
                }),
                Err(e) => {
                    tracing::warn!("no composite for the VTC: {e}");
                    return;
                }
            }
        }
        match mixer.output(&key, &params, &composite) {
            Ok(sub) => {
                if let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id) {
                    v.view = Some(key);
                    let _ = v.media_out.send(VtcMediaOut::Video(sub));
                }
            }
            Err(e) => tracing::warn!("no composite for the VTC: {e}"),
        }
        self.mix.drop_unused_views(&self.vtcs);
        // Everyone's video is needed now: ask for keyframes so the decoders start at once.
        let now = Instant::now();
        let sources: Vec<Pid> = self.order.clone();
        for s in sources {
            self.ask_source_keyframe(s, now);
        }
    }

    /// Re-lays every running view out (someone joined, left, muted, spoke; a notice), and
    /// moves VTCs whose view changed (the speaker's own view).
    pub(super) fn refresh_layouts(&mut self) {
        let moved: Vec<Pid> = self
            .vtcs
            .iter()
            .filter(|v| {
                v.entered && v.params.is_some() && v.view.as_deref() != Some(&self.view_of(v).0)
            })
            .map(|v| v.id)
            .collect();
        for id in moved {
            self.subscribe_vtc(id);
        }
        let layouts: Vec<CompositeLayout> = self
            .mix
            .views
            .iter()
            .map(|v| self.composite_layout(v.layout, &v.params, v.viewer))
            .collect();
        for (v, l) in self.mix.views.iter_mut().zip(layouts) {
            if v.last != l {
                v.handle.set_layout(&l);
                v.last = l;
            }
        }
    }

    /// Starts transcoding a VTC's video for the browsers that cannot take it as it is.
    pub(super) fn start_transcode(&mut self, vtc: Pid) {
        if self.mix.transcodes.iter().any(|t| t.vtc == vtc) {
            return;
        }
        let Some(mixer) = self.mix.mixer() else {
            return;
        };
        let params = transcode_params();
        let layout = CompositeLayout {
            tiles: vec![TileSpec {
                source: vtc.0,
                x: 0,
                y: 0,
                w: params.width,
                h: params.height,
                label: String::new(),
                muted: false,
            }],
            notice: None,
        };
        let view = format!("transcode-{}", participant_ref(vtc));
        let (mut sub, handle) = match (
            mixer.plain_output(&view, &params, &layout),
            mixer.plain_output(&view, &params, &layout),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot transcode the VTC's video: {e}");
                return;
            }
        };
        let room = self.tx.clone();
        let task = tokio::spawn(async move {
            loop {
                match sub.recv().await {
                    Ok(frame) => {
                        if room.send(RoomCmd::Transcoded { id: vtc, frame }).is_err() {
                            break;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
        })
        .abort_handle();
        tracing::info!(
            participant = vtc.0,
            "transcoding the VTC's video for browsers"
        );
        self.mix.transcodes.push(Transcode { vtc, handle, task });
        self.ask_source_keyframe(vtc, Instant::now());
    }

    pub(super) fn stop_transcode(&mut self, vtc: Pid) {
        if let Some(i) = self.mix.transcodes.iter().position(|t| t.vtc == vtc) {
            self.mix.transcodes.remove(i);
            tracing::info!(
                participant = vtc.0,
                "no browser needs the VTC's video transcoded"
            );
        }
    }

    /// The 20 ms audio clock: each VTC's mix-minus, and the recording's full mix.
    pub(super) fn audio_tick(&mut self) {
        let mut frames: Vec<(Pid, Vec<i16>)> = Vec::new();
        for p in &mut self.peers {
            if p.audio_dec.is_some()
                && let Some(f) = p.pcm.take()
                && !p.audio_muted
            {
                frames.push((p.id, f));
            }
        }
        for v in self.vtcs.iter_mut().filter(|v| v.entered) {
            if let Some(f) = v.pcm.take()
                && !v.muted
            {
                frames.push((v.id, f));
            }
        }
        let refs: Vec<(Pid, &[i16])> = frames.iter().map(|(id, f)| (*id, f.as_slice())).collect();
        let mut out = Vec::with_capacity(FRAME);
        for v in self.vtcs.iter_mut().filter(|v| v.entered) {
            let Some(codec) = v.audio else { continue };
            if v.encoder.is_none() {
                v.encoder = cvi_media_gst::AudioEncoder::new(codec, 48_000)
                    .map_err(|e| tracing::warn!("no encoder for the VTC's mix: {e}"))
                    .ok();
            }
            out.clear();
            cvi_meeting::mix_minus(&refs, v.id, &mut out);
            if let Some(e) = v.encoder.as_mut()
                && let Ok(payloads) = e.encode(&out)
            {
                for p in payloads {
                    let _ = v.media_out.send(VtcMediaOut::Audio(p));
                }
            }
        }
        if let Some(r) = &self.mix.recording {
            out.clear();
            cvi_meeting::mix_minus(&refs, NOBODY, &mut out);
            let _ = r.audio.try_send(out.clone());
        }
    }

    pub(super) fn set_recording(&mut self, on: bool, now: Instant) {
        let actions = self.notices.set_recording(on, now);
        if on && self.mix.recording.is_none() {
            self.start_recording();
        } else if !on {
            self.stop_recording();
        }
        self.carry_out(actions);
    }

    pub(super) fn set_transcription(&mut self, on: bool, now: Instant) {
        // Transcription is a notice only: no speech-to-text engine runs on the gateway.
        let actions = self.notices.set_transcription(on, now);
        self.carry_out(actions);
    }

    fn carry_out(&mut self, actions: Vec<NoticeAction>) {
        if actions.is_empty() {
            return;
        }
        for a in actions {
            if let NoticeAction::PlayNotice(kind) = a {
                self.tell_vtcs(&VtcEvent::Notice(kind));
            }
        }
        self.refresh_layouts();
        self.broadcast_state();
    }

    fn start_recording(&mut self) {
        let Some(dir) = self.cfg.recordings_dir.clone() else {
            for p in self.peers.iter().filter(|p| p.host) {
                p.error("recording is not configured on this gateway (no recordings directory)");
            }
            return;
        };
        let Some(mixer) = self.mix.mixer() else {
            return;
        };
        let params = SlateParams {
            width: 1280,
            height: 720,
            fps: 25,
            bitrate_kbps: 2000,
            profile: H264Profile::High,
            max_nal_bytes: None,
        };
        let composite = self.composite_layout(Layout::Grid3x3, &params, NOBODY);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("meeting-{}-{stamp}.mp4", self.meeting.id));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!(dir = %dir.display(), "cannot create the recordings directory: {e}");
            return;
        }
        let recorder = match Recorder::start(&path, params.width, params.height, params.fps) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("cannot record: {e}");
                return;
            }
        };
        let (mut sub, handle) = match (
            mixer.output(RECORDING_VIEW, &params, &composite),
            mixer.output(RECORDING_VIEW, &params, &composite),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!("no composite for the recording: {e}");
                return;
            }
        };
        self.mix.views.push(View {
            key: RECORDING_VIEW.into(),
            layout: Layout::Grid3x3,
            viewer: NOBODY,
            params,
            handle,
            last: composite.clone(),
        });
        let (audio_tx, mut audio_rx) = mpsc::channel::<Vec<i16>>(50);
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let p = path.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    f = sub.recv() => match f {
                        Ok(f) => recorder.push_video(&f),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => break,
                    },
                    a = audio_rx.recv() => match a {
                        Some(a) => recorder.push_audio(&a),
                        None => break,
                    },
                    _ = &mut stop_rx => break,
                }
            }
            drop(sub);
            match tokio::task::spawn_blocking(move || recorder.finish()).await {
                Ok(Ok(s)) => tracing::info!(
                    path = %p.display(),
                    bytes = s.bytes,
                    duration_ms = s.duration.as_millis() as u64,
                    "recording written"
                ),
                Ok(Err(e)) => tracing::error!(path = %p.display(), "recording failed: {e}"),
                Err(e) => tracing::error!("recording task: {e}"),
            }
        });
        tracing::info!(path = %path.display(), "recording started");
        self.mix.recording = Some(Recording {
            path,
            audio: audio_tx,
            stop: Some(stop_tx),
        });
        let now = Instant::now();
        for s in self.order.clone() {
            self.ask_source_keyframe(s, now);
        }
    }

    pub(super) fn stop_recording(&mut self) {
        if let Some(mut r) = self.mix.recording.take() {
            if let Some(s) = r.stop.take() {
                let _ = s.send(());
            }
            tracing::info!(path = %r.path.display(), "recording stopped");
            self.mix.views.retain(|v| v.key != RECORDING_VIEW);
        }
    }
}
