//! baresip, headless, as a SIP client driven through its `stdio` UI.
//!
//! # Empirical facts (Debian 12: baresip 1.0.0, libre 1.1.0, librem 0.6.0)
//!
//! Packages: `baresip-core` (binary, `stdio`, `menu`, `g711`, `opus`, `ausine`, `aufile`,
//! `srtp`, `fakevideo`, `vp8`, `cons`, `ctrl_tcp`, … in `/usr/lib/baresip/modules`) and
//! `baresip-ffmpeg` (`avcodec`, `avformat`, `avfilter`, `swscale`). The `baresip`
//! metapackage also drags in GTK, GStreamer and X11 front-ends; the tests do not need them.
//!
//! Command line: `baresip -f DIR [-e CMD]… [-t SECS] [-v] [-s]`; `-t` quits after SECS (used
//! here as a lifetime safety net); `-s` adds a SIP trace.
//!
//! Configuration (written by [`Baresip::start`] into a temp dir):
//! * `net_interface lo` fails here ("net: lo: could not get IPv4 address (No such device)",
//!   then "baresip init failed"); `net_interface 127.0.0.1` works ("Local network address:
//!   IPv4=lo|127.0.0.1"). Without it baresip picks eth0 and puts that address in SDP/Contact.
//! * `sip_listen 127.0.0.1:P` binds UDP and TCP on P and TLS on **P+1**.
//! * TLS: `sip_cafile` adds a CA ("ua: adding SIP CA: …"); `sip_certificate` (cert + key in
//!   one PEM) is the certificate baresip presents, as server and as TLS client. This version
//!   has **no `sip_verify_server`** setting (it came in later releases); it is not written.
//! * `ausine` is configured with `ausrc_srate 48000` and `ausrc_channels 2` (known
//!   requirement: without them the call never answers — not re-tested here); baresip then
//!   logs "audio: enable ausrc resampler: 8000Hz/1ch <-- 48000Hz/2ch" and "ausine: 48000 Hz,
//!   2 channels, frequency 440 Hz". No audio player module is needed: `audio_player
//!   none,nil` names a missing one and the rx pipeline shows "(play) <--- PCMU".
//! * `statmode_default off` stops the once-a-second `\r[0:00:03] audio=64000/0 (bit/s)` line.
//! * Accounts file: `<sip:tester@127.0.0.1>;regint=0` (no REGISTER) — logs "Populated 1
//!   account". `;answermode=auto` answers incoming calls; `;mediaenc=srtp-mand` forces SRTP.
//! * Video from a file: `video_source avformat,/path/file.mp4` with modules avformat +
//!   avcodec; `fakevideo` provides a null display (`video_display fakevideo,nil`) and a
//!   synthetic source. avcodec offers H.264 packetization-mode 0 first ("Set video encoder:
//!   H264 packetization-mode=0 (500000 bit/s, 25.00 fps)", libx264 Constrained Baseline).
//!   avformat sends the file's own size and **ignores `video_size`**; `fakevideo` sends
//!   `video_size` (default 352x288). The file must be 8-bit 4:2:0: an x264enc mp4 made from
//!   `videotestsrc` without `format=I420` comes out yuv444p10le, which avformat rejects
//!   ("avformat: decode: bad pixel format (68) (yuv444p10le)", no video sent at all) —
//!   [`crate::media_check::test_clip`] makes a good one.
//! * Audio from a file ([`Audio::File`]): `audio_source aufile,/path/file.wav` (module
//!   `aufile`). The WAV must be S16LE at `ausrc_srate`/`ausrc_channels` (48000 Hz, 2 ch),
//!   else "aufile: input file (…) must have sample-rate 48000 Hz" and the call closes ("session
//!   closed: No such device") right after it is answered. At the end of the file
//!   baresip logs "aufile: end of file", "menu: audio error (0,end of file)" and **hangs up
//!   the call** — make the file longer than the call. `ausine` has no silent setting
//!   (frequency 10–20000 Hz), so silence is sent as a WAV of zeros.
//!
//! Recording ([`BaresipOpts::record`]; modules `sndfile` and, with video, `snapshot`):
//! * `snd_path DIR` ("sndfile: saving files in DIR"). Per call, when the audio starts,
//!   "sndfile: dumping encode audio to DIR/dump-2026-12-02-13-29-00-enc.wav" and "… decode
//!   audio to …-dec.wav": the name has a one-second timestamp, so two calls starting in the
//!   same second write the same files. `-dec` is the decoded received audio, `-enc` what is
//!   sent; mono 16-bit at the decoder's rate (8000 Hz for PCMU). The WAV header's sizes stay
//!   0 until the call ends (libsndfile fixes them at close): [`crate::media_check::Wav`]
//!   reads such a file to its end. A decoded PCMU stream of zeros has samples of ±2.
//! * `/snapshot_recv PATH` saves the next decoded received frame to exactly PATH (no suffix
//!   added) as 8-bit RGB PNG and logs "png: wrote PATH" — just *before* `fclose`. The path
//!   is kept in a 100-byte buffer (longer ones are cut). Without the module: "command not
//!   found (snapshot_recv)". Plain `/snapshot` (meant for both directions) wrote only
//!   `snapshot-send-<timestamp>.png`, into the working directory. Pipelines then read
//!   "video rx pipeline:  fakevideo <--- snapshot <--- H264". The first decoded frame is
//!   announced by "video: receiving with resolution 640 x 360 and format 'yuv420p'".
//! * SRTP (`mediaenc=srtp-mand`): "srtp: audio: SRTP is Enabled
//!   (cryptosuite=AES_CM_128_HMAC_SHA1_80)" per stream; a plain RTP/AVP offer to such an
//!   account is refused with 488 Not Acceptable Here. Between two baresips the callee logged
//!   "srtp: failed to decrypt RTCP packet with 16 bytes (Bad message)" once per stream (the
//!   plaintext RTCP APP "PING" sent at the start) — harmless.
//!
//! stdin (the `stdio` module):
//! * With stdin = /dev/null stdio fails ("main: epoll_ctl: EPOLL_CTL_ADD: fd=0 (Operation not
//!   permitted)", "module stdio.so: Operation not permitted"); with a pipe it works but logs
//!   "stdio: could not setup terminal: Inappropriate ioctl for device" (harmless).
//! * Each byte is a key: `/` starts a long command ending at `\n`: `/dial URI`, `/hangup`,
//!   `/quit`. The typed line is echoed back with `\r` after each key (`/d\r/di\r…`).
//!   Digits typed during a call send DTMF ("audio: send DTMF digit: '1'", "… digit end").
//!
//! Log lines (stdout; error lines are red via ANSI codes, stripped by [`crate::proc`]):
//! * ready: `baresip is ready.`
//! * dial: `call: connecting to 'sip:service@127.0.0.1:5099'..`
//! * provisional: `call: SIP Progress: 180 Ringing (/)` (183 would be
//!   `… 183 Session Progress (application/sdp)`)
//! * answered: `tester@127.0.0.1: Call established: sip:service@127.0.0.1:5099` (the
//!   account's AOR, then the peer URI)
//! * rejected: `sip:service@127.0.0.1:5099: session closed: 404 Not Found`
//! * far-end BYE: `sip:…: session closed: Connection reset by peer` then
//!   `sip:tester@127.0.0.1: Call with sip:… terminated (duration: 1 sec)`
//! * our hangup: `call: terminate call '43eb315d8690d89a' with sip:…` (no "session
//!   closed"). The `sip:tester@127.0.0.1: Call with sip:… terminated (duration: 4 secs)` line
//!   goes to **stderr** and, after a local hangup, only appears when baresip shuts down —
//!   it cannot be waited for, so `terminate call` is the local-hangup event.
//! * exit: `ua: stop all (forced=0)`; on SIGTERM first `terminated by signal 15`.
//! * Besides the SIP port it opens two UDP sockets on ephemeral ports (DNS client).
//!
//! Event mapping: `SIP Progress: N` → `Progress(N)` (and `Ringing` for 180); `Call
//! established` → `Established`; `session closed: NNN Reason` → `Closed{status: NNN}`;
//! `session closed: Connection reset by peer` → `Closed{reason: REASON_REMOTE_BYE}`; other
//! `session closed: X` → `Closed{reason: X}`; `call: terminate call` → `Closed{reason:
//! REASON_LOCAL_HANGUP}`; `terminated (duration` with no close before it → the same.

use crate::proc::{ChildGuard, require_binary};
use crate::{
    CallEvent, EventParser, EventStream, REASON_LOCAL_HANGUP, REASON_REMOTE_BYE, Transport, net,
    tls::TestPki, with_transport,
};
use anyhow::{Context, Result, bail, ensure};
use regex::Regex;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

const MODULE_DIR: &str = "/usr/lib/baresip/modules";
/// Distinct file names for `/snapshot_recv` (`frame-N.png`).
static SNAPSHOTS: AtomicU64 = AtomicU64::new(0);

/// Video source for the call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Video {
    /// Audio only (no video modules loaded, no m=video offered).
    #[default]
    None,
    /// Synthetic video from the `fakevideo` module.
    Fake,
    /// Play this media file (e.g. an mp4) as the camera via `avformat`.
    File(PathBuf),
}

/// Audio source for the call (at 48000 Hz, 2 channels: `ausrc_srate`/`ausrc_channels`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Audio {
    /// A 440 Hz sine from `ausine`.
    #[default]
    Sine,
    /// Play this 48000 Hz stereo S16LE WAV via `aufile` (e.g. silence, see
    /// [`crate::media_check::Wav::write`]). When it ends, baresip hangs up the call.
    File(PathBuf),
}

/// Options for [`Baresip::start`].
#[derive(Clone, Debug)]
pub struct BaresipOpts {
    /// User part of the local account `sip:USER@127.0.0.1`.
    pub user: String,
    /// `;transport=` of the account URI (dial() picks the transport per call anyway).
    pub transport: Transport,
    /// `sip_cafile`: CA to trust for TLS.
    pub ca: Option<PathBuf>,
    /// `sip_certificate`: certificate + key (one PEM) to present over TLS.
    pub certificate: Option<PathBuf>,
    /// `;mediaenc=srtp-mand` and load `srtp`.
    pub srtp: bool,
    /// Audio source.
    pub audio: Audio,
    /// Video source.
    pub video: Video,
    /// `;answermode=auto` (answer incoming calls).
    pub auto_answer: bool,
    /// `;audio_codecs=` value, e.g. `PCMU` (default: all loaded).
    pub audio_codecs: Option<String>,
    /// Extra lines appended to `config`.
    pub extra_config: Vec<String>,
    /// Extra `;k=v` parameters appended to the account line.
    pub extra_account_params: String,
    /// Safety lifetime (`-t` and the process wrapper).
    pub lifetime: Duration,
    /// Record what is received: `sndfile` dumps the decoded audio as WAV
    /// ([`Baresip::received_audio`], and the sent audio: [`Baresip::sent_audio`]) and, with
    /// video, `snapshot` saves decoded video frames as PNG ([`Baresip::received_frame`]).
    pub record: bool,
}

impl Default for BaresipOpts {
    fn default() -> Self {
        Self {
            user: "tester".into(),
            transport: Transport::Udp,
            ca: None,
            certificate: None,
            srtp: false,
            audio: Audio::Sine,
            video: Video::None,
            auto_answer: false,
            audio_codecs: None,
            extra_config: Vec::new(),
            extra_account_params: String::new(),
            lifetime: Duration::from_secs(120),
            record: false,
        }
    }
}

impl BaresipOpts {
    /// Defaults plus `sip_cafile` = the test CA (no client certificate).
    pub fn with_ca(pki: &TestPki) -> Self {
        Self {
            ca: Some(pki.ca.clone()),
            ..Self::default()
        }
    }

    /// Defaults plus the test CA and the client certificate of `pki`.
    pub fn with_client_cert(pki: &TestPki) -> Self {
        Self {
            ca: Some(pki.ca.clone()),
            certificate: Some(pki.client.combined.clone()),
            ..Self::default()
        }
    }
}

#[derive(Default)]
struct Parser {
    closed_seen: bool,
}

static RE_PROGRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"call: SIP Progress: (\d{3}) ").expect("static regex: progress"));
static RE_CLOSED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r": session closed: (.*)$").expect("static regex: closed"));
static RE_STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{3})\b").expect("static regex: status"));

impl EventParser for Parser {
    fn feed(&mut self, line: &str, out: &mut Vec<CallEvent>) {
        if line.contains("call: connecting to ") {
            self.closed_seen = false;
        } else if line.contains("call: terminate call '") {
            if !self.closed_seen {
                out.push(CallEvent::Closed {
                    reason: REASON_LOCAL_HANGUP.into(),
                    status: None,
                });
            }
            self.closed_seen = true;
        } else if let Some(c) = RE_PROGRESS.captures(line) {
            if let Ok(code) = c[1].parse::<u16>() {
                out.push(CallEvent::Progress(code));
                if code == 180 {
                    out.push(CallEvent::Ringing);
                }
            }
        } else if line.contains(": Call established: ") {
            out.push(CallEvent::Established);
        } else if let Some(c) = RE_CLOSED.captures(line) {
            self.closed_seen = true;
            let text = c[1].trim().to_string();
            let status = RE_STATUS
                .captures(&text)
                .and_then(|s| s[1].parse::<u16>().ok());
            let reason = if status.is_none() && text.contains("Connection reset by peer") {
                REASON_REMOTE_BYE.to_string()
            } else {
                text
            };
            out.push(CallEvent::Closed { reason, status });
        } else if line.contains(" terminated (duration") {
            if !self.closed_seen {
                out.push(CallEvent::Closed {
                    reason: REASON_LOCAL_HANGUP.into(),
                    status: None,
                });
            }
            self.closed_seen = false;
        }
    }
}

/// A running baresip; killed (process group) on drop.
pub struct Baresip {
    events: Mutex<EventStream<Parser>>,
    proc: ChildGuard,
    sip_port: u16,
    user: String,
    dir: tempfile::TempDir,
}

fn module_exists(name: &str) -> bool {
    Path::new(MODULE_DIR).join(name).is_file()
}

fn config_text(opts: &BaresipOpts, sip_port: u16, record_dir: Option<&Path>) -> Result<String> {
    let mut modules = vec!["stdio.so", "g711.so"];
    if module_exists("opus.so") {
        modules.push("opus.so");
    }
    modules.push(match opts.audio {
        Audio::Sine => "ausine.so",
        Audio::File(_) => "aufile.so",
    });
    if opts.srtp {
        modules.push("srtp.so");
    }
    match &opts.video {
        Video::None => {}
        Video::Fake => modules.extend(["fakevideo.so", "avcodec.so", "vp8.so"]),
        Video::File(_) => {
            modules.extend(["avformat.so", "avcodec.so", "vp8.so", "fakevideo.so"]);
        }
    }
    if opts.record {
        modules.push("sndfile.so");
        if opts.video != Video::None {
            modules.push("snapshot.so");
        }
    }
    for m in &modules {
        if !module_exists(m) {
            let pkg = if m.starts_with("av") {
                "baresip-ffmpeg"
            } else {
                "baresip-core"
            };
            bail!("baresip module {MODULE_DIR}/{m} is missing: install the Debian package {pkg}");
        }
    }
    let mut c = String::new();
    let mut line = |k: &str, v: &str| {
        let _ = writeln!(c, "{k}\t\t{v}");
    };
    line("poll_method", "epoll");
    line("module_path", MODULE_DIR);
    for m in &modules {
        line("module", m);
    }
    line("module_tmp", "account.so");
    line("module_app", "menu.so");
    line("sip_listen", &format!("127.0.0.1:{sip_port}"));
    line("net_interface", "127.0.0.1");
    line("call_local_timeout", "120");
    line("call_max_calls", "4");
    match &opts.audio {
        Audio::Sine => line("audio_source", "ausine,440"),
        Audio::File(p) => line("audio_source", &format!("aufile,{}", p.display())),
    }
    line("audio_player", "none,nil");
    line("audio_alert", "none,nil");
    line("ausrc_srate", "48000");
    line("ausrc_channels", "2");
    line("statmode_default", "off");
    line("rtp_ports", "10000-30000");
    if let Some(ca) = &opts.ca {
        line("sip_cafile", &ca.display().to_string());
    }
    if let Some(cert) = &opts.certificate {
        line("sip_certificate", &cert.display().to_string());
    }
    match &opts.video {
        Video::None => {}
        Video::Fake => {
            line("video_source", "fakevideo,nil");
            line("video_display", "fakevideo,nil");
        }
        Video::File(p) => {
            line("video_source", &format!("avformat,{}", p.display()));
            line("video_display", "fakevideo,nil");
        }
    }
    if let Some(dir) = record_dir {
        line("snd_path", &dir.display().to_string());
    }
    for l in &opts.extra_config {
        let _ = writeln!(c, "{l}");
    }
    Ok(c)
}

fn account_text(opts: &BaresipOpts) -> String {
    let uri_params = match opts.transport {
        Transport::Udp => String::new(),
        t => format!(";transport={}", t.param()),
    };
    let mut a = format!("<sip:{}@127.0.0.1{uri_params}>;regint=0", opts.user);
    a.push_str(if opts.auto_answer {
        ";answermode=auto"
    } else {
        ";answermode=manual"
    });
    if opts.srtp {
        a.push_str(";mediaenc=srtp-mand");
    }
    if let Some(codecs) = &opts.audio_codecs {
        let _ = write!(a, ";audio_codecs={codecs}");
    }
    a.push_str(&opts.extra_account_params);
    a.push('\n');
    a
}

impl Baresip {
    /// Writes a config dir, starts baresip and waits for `baresip is ready.` (10 s).
    pub fn start(opts: BaresipOpts) -> Result<Baresip> {
        require_binary("baresip", "baresip-core")?;
        let dir = tempfile::Builder::new()
            .prefix("cvi-e2e-baresip-")
            .tempdir()
            .context("baresip temp dir")?;
        let sip_port = net::free_port_pair();
        let record_dir = dir.path().join("rec");
        std::fs::create_dir_all(&record_dir).context("baresip recording dir")?;
        let rec = opts.record.then_some(record_dir.as_path());
        std::fs::write(
            dir.path().join("config"),
            config_text(&opts, sip_port, rec)?,
        )
        .context("writing baresip config")?;
        std::fs::write(dir.path().join("accounts"), account_text(&opts))
            .context("writing baresip accounts")?;
        std::fs::write(dir.path().join("contacts"), "").context("writing baresip contacts")?;
        let secs = opts.lifetime.as_secs().max(5);
        let args = [
            "-f".to_string(),
            dir.path().display().to_string(),
            "-t".into(),
            secs.to_string(),
        ];
        let cwd = dir.path().to_path_buf();
        let proc = ChildGuard::spawn_with(
            "baresip",
            "baresip",
            &args,
            opts.lifetime + Duration::from_secs(10),
            |c| {
                c.current_dir(&cwd).env("HOME", &cwd);
            },
        )?;
        let ready = Regex::new(r"baresip is ready\.").expect("static regex: ready");
        if proc
            .wait_for_line(&ready, Duration::from_secs(10))
            .is_none()
        {
            bail!(
                "baresip did not print `baresip is ready.` within 10 s; output:\n{}",
                proc.log_tail(60)
            );
        }
        Ok(Baresip {
            events: Mutex::new(EventStream::new(Parser::default())),
            proc,
            sip_port,
            user: opts.user,
            dir,
        })
    }

    /// Dials `uri` with `;transport=` set to `transport` (`/dial`).
    pub fn dial(&self, uri: &str, transport: Transport) -> Result<()> {
        self.proc.ensure_running()?;
        self.proc
            .send_line(&format!("/dial {}", with_transport(uri, transport)))
    }

    /// Hangs up the current call (`/hangup`).
    pub fn hangup(&self) -> Result<()> {
        self.proc.send_line("/hangup")
    }

    /// Sends DTMF digits (`0-9*#`) in the current call, one key press each.
    pub fn send_dtmf(&self, digits: &str) -> Result<()> {
        for d in digits.chars() {
            if !matches!(d, '0'..='9' | '*' | '#' | 'A'..='D') {
                bail!("not a DTMF digit: {d:?}");
            }
            self.proc.write_stdin(&d.to_string())?;
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }

    /// The WAV file `sndfile` wrote the decoded received audio of the latest call to
    /// (`rec/dump-<time>-dec.wav`). Its header sizes are filled in when the call ends;
    /// [`crate::media_check::Wav::read`] also reads it during the call. Needs `record`.
    pub fn received_audio(&self) -> Result<PathBuf> {
        self.latest_dump("-dec.wav")
    }

    /// Like [`Baresip::received_audio`], for the audio this baresip sent (`-enc.wav`).
    pub fn sent_audio(&self) -> Result<PathBuf> {
        self.latest_dump("-enc.wav")
    }

    fn latest_dump(&self, suffix: &str) -> Result<PathBuf> {
        let dir = self.dir.path().join("rec");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("dump-") && n.ends_with(suffix))
            .collect();
        // The timestamp in the name sorts chronologically.
        names.sort();
        let name = names.pop().with_context(|| {
            format!(
                "no {}/dump-*{suffix} (is `record` on, and has a call's audio started?); \
                 baresip said:\n{}",
                dir.display(),
                self.proc.log_tail(30)
            )
        })?;
        Ok(dir.join(name))
    }

    /// Saves the next decoded received video frame as PNG (`/snapshot_recv PATH`), waits
    /// for "png: wrote PATH" and a complete file, and returns PATH (`rec/frame-N.png`).
    /// Fails at once if the `snapshot` module is not loaded (needs `record` and video), and
    /// after `timeout` if no frame is decoded.
    pub fn received_frame(&self, timeout: Duration) -> Result<PathBuf> {
        let n = SNAPSHOTS.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join("rec").join(format!("frame-{n}.png"));
        let shown = path.display().to_string();
        // snapshot keeps the path in a char[100].
        ensure!(
            shown.len() < 100,
            "snapshot path too long for baresip ({} bytes, max 99): {shown}; use a shorter TMPDIR",
            shown.len()
        );
        let re = Regex::new(&format!(
            r"png: wrote {}$|command not found \(snapshot_recv\)",
            regex::escape(&shown)
        ))
        .context("snapshot regex")?;
        let from = self.proc.line_count();
        self.proc.send_line(&format!("/snapshot_recv {shown}"))?;
        let deadline = Instant::now() + timeout;
        let Some((_, line)) = self.proc.wait_for_line_from(from, &re, timeout) else {
            bail!(
                "no received video frame saved within {timeout:?}; baresip said:\n{}",
                self.proc.log_tail(40)
            );
        };
        ensure!(
            !line.contains("command not found"),
            "baresip has no snapshot module: `record` needs a video source too ({line})"
        );
        // The line comes just before fclose: wait for the PNG's IEND chunk.
        let until = deadline.max(Instant::now() + Duration::from_secs(2));
        loop {
            let b = std::fs::read(&path).unwrap_or_default();
            if b.ends_with(b"IEND\xaeB`\x82") {
                return Ok(path);
            }
            ensure!(
                Instant::now() < until,
                "{shown} incomplete ({} bytes) after baresip wrote it",
                b.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends any raw stdin input (e.g. `"/about\n"`).
    pub fn command(&self, raw: &str) -> Result<()> {
        self.proc.write_stdin(raw)
    }

    /// Waits for the next event matching `want` (see [`CallEvent::matches`]); fails early if
    /// the call closes while waiting for something else.
    pub fn wait_for(&self, want: &CallEvent, timeout: Duration) -> Result<CallEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wait_for(&self.proc, want, timeout)
    }

    /// Every event parsed so far.
    pub fn events(&self) -> Vec<CallEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all(&self.proc)
    }

    /// The local SIP port (UDP and TCP; TLS is on `sip_port() + 1`).
    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// `sip:USER@127.0.0.1:PORT` — where this baresip can be called (UDP/TCP).
    pub fn contact_uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.user, self.sip_port)
    }

    /// The config directory.
    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process guard (output lines, `wait_for_line`, …).
    pub fn process(&self) -> &ChildGuard {
        &self.proc
    }

    /// Asks baresip to quit (`/quit`), waits up to 5 s, then kills it.
    pub fn quit(self) {
        let _ = self.proc.send_line("/quit");
        let _ = self.proc.wait_exit(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&str]) -> Vec<CallEvent> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for l in lines {
            p.feed(l, &mut out);
        }
        out
    }

    #[test]
    fn parses_observed_lines() {
        assert_eq!(
            parse(&[
                "call: connecting to 'sip:service@127.0.0.1:5099'..",
                "call: SIP Progress: 180 Ringing (/)",
                "tester@127.0.0.1: Call established: sip:service@127.0.0.1:5099",
                "call: terminate call '43eb315d8690d89a' with sip:service@127.0.0.1:5099",
                "sip:tester@127.0.0.1: Call with sip:service@127.0.0.1:5099 terminated (duration: 4 secs)",
            ]),
            vec![
                CallEvent::Progress(180),
                CallEvent::Ringing,
                CallEvent::Established,
                CallEvent::local_hangup()
            ]
        );
        assert_eq!(
            parse(&["sip:service@127.0.0.1:5099: session closed: 404 Not Found"]),
            vec![CallEvent::Closed {
                reason: "404 Not Found".into(),
                status: Some(404)
            }]
        );
        assert_eq!(
            parse(&[
                "sip:service@127.0.0.1:5099: session closed: Connection reset by peer",
                "sip:tester@127.0.0.1: Call with sip:service@127.0.0.1:5099 terminated (duration: 1 sec)",
            ]),
            vec![CallEvent::remote_bye()]
        );
    }
}
