//! Streaming audio transcoders for the embedded meeting's media bridge: one
//! RTP payload (about 20 ms) at a time, per participant, in a live call.
//!
//! Every GStreamer stage here is a small pipeline driven *synchronously on the
//! caller's thread*: a free-standing source pad pushes each buffer straight
//! into the first element and a free-standing sink pad collects what comes
//! out, so when [`gst::Pad::push`] returns, the output of that input is
//! there. No `appsrc`/`appsink`, no streaming thread, no timeout: a stage costs
//! no thread at all, and an input that yields nothing (a corrupt Opus packet)
//! is seen at once instead of after a pull timeout.
//!
//! * Opus: `opusenc` / `opusdec`, which take and give 8, 12, 16, 24 and 48 kHz
//!   PCM directly (so no resampling for the usual 8/16/48 kHz);
//! * G.722: `avenc_g722` / `avdec_g722` at 16 kHz;
//! * G.711 µ-law and A-law: in Rust (exact, table-free, far cheaper than a
//!   pipeline), bit-exact with GStreamer's `mulawenc`/`alawenc`/`mulawdec`/`alawdec`;
//! * any other rate pair: `audioresample` (primed with 20 ms of silence at
//!   construction so that each 20 ms in gives exactly 20 ms out; the filter
//!   delay is a fraction of a millisecond).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use crate::Error;
use crate::prompt::{AudioCodec, linear_to_alaw, linear_to_ulaw};

/// Duration of the payloads [`AudioEncoder`] produces, in milliseconds.
pub const FRAME_MS: u32 = 20;
/// Opus bit rate (bits/s) of [`AudioEncoder`]: mono speech, FEC included.
pub const OPUS_BITRATE: u32 = 32_000;
/// Opus encoder complexity (0..=10).
pub const OPUS_COMPLEXITY: u32 = 5;
/// Expected packet loss (percent) the Opus in-band FEC is tuned for.
pub const OPUS_PACKET_LOSS_PERCENT: u32 = 10;
/// Bytes per 20 ms payload of G.711 (8 kHz, 8 bit) and of G.722 (64 kbit/s).
pub const G711_G722_PAYLOAD_BYTES: usize = 160;
/// Larger payloads are refused ([`AudioDecoder::decode`]): 60 ms of the
/// biggest codec (G.711/G.722: 480 bytes; an Opus packet is at most 1275
/// bytes per frame) fits well under it.
pub const MAX_PAYLOAD_BYTES: usize = 4000;
/// Accepted PCM rates.
pub const RATES: std::ops::RangeInclusive<u32> = 8000..=48_000;

/// PCM rates `opusenc`/`opusdec` take and give directly.
const OPUS_RATES: [u32; 5] = [8000, 12_000, 16_000, 24_000, 48_000];

/// PCM samples in 20 ms at `rate`.
pub fn frame_samples(rate: u32) -> usize {
    (rate / 50) as usize
}

/// RFC 6464 audio level of `pcm`: `-dBov` rounded to 0..=127, where 0 dBov
/// is a full-scale square wave (RMS 32767), so a full-scale sine is 3 and
/// silence (or nothing) is 127.
pub fn level_dbov(pcm: &[i16]) -> u8 {
    if pcm.is_empty() {
        return 127;
    }
    let energy: f64 = pcm
        .iter()
        .map(|&s| {
            let x = f64::from(s);
            x * x
        })
        .sum();
    let rms = (energy / pcm.len() as f64).sqrt() / 32767.0;
    if rms <= 0.0 {
        return 127;
    }
    let level = (-20.0 * rms.log10()).round().clamp(0.0, 127.0);
    level as u8
}

/// G.711 µ-law decoding of one byte (ITU-T G.711; the same table as
/// GStreamer's `mulawdec`).
pub fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    let value = if u & 0x80 != 0 { -magnitude } else { magnitude };
    value as i16
}

/// G.711 A-law decoding of one byte (the same table as GStreamer's `alawdec`).
pub fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let segment = (a & 0x70) >> 4;
    let mut t = i32::from(a & 0x0F) << 4;
    match segment {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (segment - 1),
    }
    let value = if a & 0x80 != 0 { t } else { -t };
    value as i16
}

fn check_rate(rate: u32) -> Result<(), Error> {
    if RATES.contains(&rate) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "unsupported PCM rate {rate} (expected {}..={})",
            RATES.start(),
            RATES.end()
        )))
    }
}

fn raw_caps_desc(rate: u32) -> String {
    format!("audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate={rate}")
}

fn raw_caps(rate: u32) -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("channels", 1i32)
        .field("rate", i32::try_from(rate).unwrap_or(i32::MAX))
        .build()
}

fn pcm_buffer(pcm: &[i16], first_sample: u64, rate: u32) -> gst::Buffer {
    let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut buffer = gst::Buffer::from_mut_slice(data);
    if let Some(b) = buffer.get_mut() {
        let at = |n: u64| {
            gst::ClockTime::from_nseconds(n.saturating_mul(1_000_000_000) / u64::from(rate.max(1)))
        };
        let end = first_sample + pcm.len() as u64;
        b.set_pts(at(first_sample));
        b.set_duration(at(end) - at(first_sample));
        b.set_offset(first_sample);
        b.set_offset_end(end);
    }
    buffer
}

fn append_pcm(buffers: &[gst::Buffer], out: &mut Vec<i16>) -> Result<(), Error> {
    for buffer in buffers {
        let map = buffer.map_readable()?;
        out.extend(
            map.as_slice()
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A chain of elements (`gst-launch` syntax, one unlinked sink and one
/// unlinked src pad) driven synchronously from the caller's thread.
struct Chain {
    pipeline: gst::Pipeline,
    input: gst::Pad,
    /// Kept alive here: a pad's peer link does not hold a reference.
    collect: gst::Pad,
    output: Arc<Mutex<Vec<gst::Buffer>>>,
    /// Warnings and errors the elements posted (e.g. a corrupt packet).
    issues: Arc<AtomicU64>,
}

impl Chain {
    fn new(desc: &str, caps: &gst::Caps) -> Result<Self, Error> {
        crate::init()?;
        let bin = gst::parse::bin_from_description(desc, true).map_err(|e| {
            if e.kind::<gst::ParseError>() == Some(gst::ParseError::NoSuchElement) {
                Error::MissingElement(e.message().to_string())
            } else {
                Error::Pipeline(format!("cannot build `{desc}`: {e}"))
            }
        })?;
        let pipeline = gst::Pipeline::new();
        pipeline.add(&bin)?;

        let output: Arc<Mutex<Vec<gst::Buffer>>> = Arc::default();
        let out_cb = Arc::clone(&output);
        let collect = gst::Pad::builder(gst::PadDirection::Sink)
            .name("collect")
            .chain_function(move |_pad, _parent, buffer| {
                lock(&out_cb).push(buffer);
                Ok(gst::FlowSuccess::Ok)
            })
            .event_function(|_pad, _parent, _event| true)
            .build();
        let input = gst::Pad::builder(gst::PadDirection::Src)
            .name("feed")
            .build();
        let pad = |name: &str| {
            bin.static_pad(name)
                .ok_or_else(|| Error::Pipeline(format!("`{desc}` has no unlinked {name} pad")))
        };
        let (bin_sink, bin_src) = (pad("sink")?, pad("src")?);
        input
            .link(&bin_sink)
            .map_err(|e| Error::Pipeline(format!("cannot link into `{desc}`: {e:?}")))?;
        bin_src
            .link(&collect)
            .map_err(|e| Error::Pipeline(format!("cannot link out of `{desc}`: {e:?}")))?;
        collect.set_active(true)?;
        input.set_active(true)?;

        let issues = Arc::new(AtomicU64::new(0));
        let bus = pipeline
            .bus()
            .ok_or_else(|| Error::Pipeline("pipeline has no bus".into()))?;
        let issues_cb = Arc::clone(&issues);
        // Nobody pops this bus: every message is looked at and dropped here.
        bus.set_sync_handler(move |_bus, msg| {
            match msg.view() {
                gst::MessageView::Error(err) => {
                    issues_cb.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %crate::util::describe_error(err), "live audio error");
                }
                gst::MessageView::Warning(w) => {
                    issues_cb.fetch_add(1, Ordering::Relaxed);
                    tracing::trace!(warning = %w.error(), "live audio warning");
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });

        let chain = Chain {
            pipeline,
            input,
            collect,
            output,
            issues,
        };
        chain.pipeline.set_state(gst::State::Playing)?;
        let segment = gst::FormattedSegment::<gst::ClockTime>::new();
        let started = chain
            .input
            .push_event(gst::event::StreamStart::new("cvi-live-audio"))
            && chain.input.push_event(gst::event::Caps::new(caps))
            && chain.input.push_event(gst::event::Segment::new(&segment));
        if !started {
            return Err(Error::Pipeline(format!(
                "`{desc}` refused the stream ({caps})"
            )));
        }
        Ok(chain)
    }

    /// Pushes one buffer through and returns everything that came out.
    fn push(&self, buffer: gst::Buffer) -> Result<Vec<gst::Buffer>, Error> {
        let flow = self.input.push(buffer);
        let out = std::mem::take(&mut *lock(&self.output));
        match flow {
            Ok(_) => Ok(out),
            Err(e) => Err(Error::Pipeline(format!("live audio flow: {e:?}"))),
        }
    }

    fn issues(&self) -> u64 {
        self.issues.load(Ordering::Relaxed)
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        let _ = self.input.set_active(false);
        let _ = self.collect.set_active(false);
    }
}

/// `audioresample` from `in_rate` to `out_rate`, primed so that every push of
/// `n` samples yields `n * out_rate / in_rate` samples (±1 for odd ratios).
struct Resampler {
    chain: Chain,
    in_rate: u32,
    fed: u64,
}

impl Resampler {
    fn new(in_rate: u32, out_rate: u32) -> Result<Self, Error> {
        let chain = Chain::new(
            &format!(
                "audioresample ! capsfilter caps={}",
                raw_caps_desc(out_rate)
            ),
            &raw_caps(in_rate),
        )?;
        let mut resampler = Resampler {
            chain,
            in_rate,
            fed: 0,
        };
        // The filter holds back its delay on the first input: absorb it with
        // silence now, so later pushes come out at full length.
        let mut primed = Vec::new();
        resampler.process(&vec![0; frame_samples(in_rate)], &mut primed)?;
        Ok(resampler)
    }

    fn process(&mut self, pcm: &[i16], out: &mut Vec<i16>) -> Result<(), Error> {
        if pcm.is_empty() {
            return Ok(());
        }
        let buffers = self.chain.push(pcm_buffer(pcm, self.fed, self.in_rate))?;
        self.fed += pcm.len() as u64;
        append_pcm(&buffers, out)
    }
}

/// Resampler, or none when the rates match.
fn resampler(from: u32, to: u32) -> Result<Option<Resampler>, Error> {
    if from == to {
        Ok(None)
    } else {
        Resampler::new(from, to).map(Some)
    }
}

enum DecodeStage {
    Ulaw,
    Alaw,
    /// `opusdec` or `avdec_g722`.
    Gst(Chain),
}

/// Decodes one call's inbound RTP audio payloads to mono PCM at a fixed rate.
pub struct AudioDecoder {
    codec: AudioCodec,
    out_rate: u32,
    stage: DecodeStage,
    resampler: Option<Resampler>,
    scratch: Vec<i16>,
}

impl std::fmt::Debug for AudioDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioDecoder")
            .field("codec", &self.codec)
            .field("out_rate", &self.out_rate)
            .finish()
    }
}

impl AudioDecoder {
    /// A decoder of `codec` payloads giving mono PCM at `out_rate`
    /// (8000..=48000 Hz).
    pub fn new(codec: AudioCodec, out_rate: u32) -> Result<Self, Error> {
        crate::init()?;
        check_rate(out_rate)?;
        let (stage, stage_rate) = match codec {
            AudioCodec::Pcmu => (DecodeStage::Ulaw, 8000),
            AudioCodec::Pcma => (DecodeStage::Alaw, 8000),
            AudioCodec::G722 => {
                let chain = Chain::new(
                    &format!(
                        "avdec_g722 ! audioconvert ! capsfilter caps={}",
                        raw_caps_desc(16_000)
                    ),
                    &gst::Caps::builder("audio/G722")
                        .field("rate", 16_000i32)
                        .field("channels", 1i32)
                        .build(),
                )?;
                (DecodeStage::Gst(chain), 16_000)
            }
            AudioCodec::Opus => {
                let rate = if OPUS_RATES.contains(&out_rate) {
                    out_rate
                } else {
                    48_000
                };
                let chain = Chain::new(
                    &format!("opusdec plc=true ! capsfilter caps={}", raw_caps_desc(rate)),
                    &gst::Caps::builder("audio/x-opus")
                        .field("channel-mapping-family", 0i32)
                        .field("channels", 1i32)
                        .field("rate", 48_000i32)
                        .build(),
                )?;
                (DecodeStage::Gst(chain), rate)
            }
        };
        Ok(AudioDecoder {
            codec,
            out_rate,
            stage,
            resampler: resampler(stage_rate, out_rate)?,
            scratch: Vec::new(),
        })
    }

    pub fn codec(&self) -> AudioCodec {
        self.codec
    }

    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    /// The rate the codec itself decodes at (8 kHz for G.711, 16 kHz for G.722, the
    /// output rate for Opus): what [`Self::decode_both`] gives besides the output rate.
    pub fn codec_rate(&self) -> u32 {
        match self.stage {
            DecodeStage::Ulaw | DecodeStage::Alaw => 8000,
            DecodeStage::Gst(_) if self.codec == AudioCodec::G722 => 16_000,
            DecodeStage::Gst(_) => self.out_rate,
        }
    }

    /// Decodes one RTP payload (normally 20 ms, anything from 10 to 60 ms
    /// works) to mono PCM at the output rate.
    ///
    /// An empty or oversized payload, or one the codec cannot decode (a
    /// corrupt Opus packet), is an [`Error::InvalidInput`]: treat it as a lost
    /// packet. The decoder stays usable; the next good payload decodes.
    pub fn decode(&mut self, payload: &[u8]) -> Result<Vec<i16>, Error> {
        let mut out = Vec::new();
        self.decode_into(payload, &mut out)?;
        Ok(out)
    }

    /// [`Self::decode`], appending to `out`; returns the number of samples appended.
    pub fn decode_into(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, Error> {
        let start = out.len();
        // Codec-rate PCM: straight into `out` without resampling, else into scratch.
        if self.resampler.is_none() {
            self.decode_native(payload, out)?;
        } else {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            let decoded = self.decode_native(payload, &mut scratch);
            let resampled = match (decoded, &mut self.resampler) {
                (Ok(()), Some(r)) => r.process(&scratch, out),
                (d, _) => d,
            };
            self.scratch = scratch;
            resampled?;
        }
        Ok(out.len() - start)
    }

    /// [`Self::decode_into`] that also appends the PCM at [`Self::codec_rate`] to
    /// `native` (one decode for a consumer at each rate).
    pub fn decode_both(
        &mut self,
        payload: &[u8],
        native: &mut Vec<i16>,
        out: &mut Vec<i16>,
    ) -> Result<(), Error> {
        let from = native.len();
        self.decode_native(payload, native)?;
        match &mut self.resampler {
            Some(r) => r.process(native.get(from..).unwrap_or_default(), out),
            None => {
                out.extend_from_slice(native.get(from..).unwrap_or_default());
                Ok(())
            }
        }
    }

    /// Checks and decodes one payload at the codec's own rate, appending to `pcm`.
    fn decode_native(&mut self, payload: &[u8], pcm: &mut Vec<i16>) -> Result<(), Error> {
        if payload.is_empty() {
            return Err(Error::InvalidInput("empty audio payload".into()));
        }
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::InvalidInput(format!(
                "{} byte audio payload (at most {MAX_PAYLOAD_BYTES})",
                payload.len()
            )));
        }
        let decoded_from = pcm.len();
        match &mut self.stage {
            DecodeStage::Ulaw => pcm.extend(payload.iter().map(|&b| ulaw_to_linear(b))),
            DecodeStage::Alaw => pcm.extend(payload.iter().map(|&b| alaw_to_linear(b))),
            DecodeStage::Gst(chain) => {
                let issues = chain.issues();
                let buffers = chain.push(gst::Buffer::from_slice(payload.to_vec()))?;
                append_pcm(&buffers, pcm)?;
                if pcm.len() == decoded_from {
                    let why = if chain.issues() > issues {
                        "undecodable"
                    } else {
                        "empty"
                    };
                    return Err(Error::InvalidInput(format!(
                        "{why} {:?} payload of {} bytes",
                        self.codec,
                        payload.len()
                    )));
                }
            }
        }
        Ok(())
    }
}

enum EncodeStage {
    Ulaw,
    Alaw,
    G722(Chain),
    Opus(Chain),
}

/// Encodes one call's outbound mono PCM into 20 ms RTP payloads.
pub struct AudioEncoder {
    codec: AudioCodec,
    in_rate: u32,
    codec_rate: u32,
    stage: EncodeStage,
    resampler: Option<Resampler>,
    /// PCM (at the codec rate) pushed into the codec so far.
    fed: u64,
    /// G.711: samples waiting for a full frame.
    pending_pcm: Vec<i16>,
    /// G.722: encoded bytes waiting for a full payload.
    pending_bytes: Vec<u8>,
    scratch: Vec<i16>,
}

impl std::fmt::Debug for AudioEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioEncoder")
            .field("codec", &self.codec)
            .field("in_rate", &self.in_rate)
            .finish()
    }
}

impl AudioEncoder {
    /// An encoder of mono PCM at `in_rate` (8000..=48000 Hz) into `codec`:
    /// Opus (`opusenc`, 20 ms frames, [`OPUS_BITRATE`], in-band FEC, mono,
    /// 48 kHz RTP clock), G.722 (`avenc_g722`, 160 bytes) or G.711 (Rust,
    /// 160 bytes).
    pub fn new(codec: AudioCodec, in_rate: u32) -> Result<Self, Error> {
        crate::init()?;
        check_rate(in_rate)?;
        let (stage, codec_rate) = match codec {
            AudioCodec::Pcmu => (EncodeStage::Ulaw, 8000),
            AudioCodec::Pcma => (EncodeStage::Alaw, 8000),
            AudioCodec::G722 => (
                EncodeStage::G722(Chain::new("avenc_g722", &raw_caps(16_000))?),
                16_000,
            ),
            AudioCodec::Opus => {
                let rate = if OPUS_RATES.contains(&in_rate) {
                    in_rate
                } else {
                    48_000
                };
                let chain = Chain::new(
                    &format!(
                        "opusenc frame-size={FRAME_MS} bitrate={OPUS_BITRATE} \
                         complexity={OPUS_COMPLEXITY} audio-type=voice inband-fec=true \
                         packet-loss-percentage={OPUS_PACKET_LOSS_PERCENT}"
                    ),
                    &raw_caps(rate),
                )?;
                (EncodeStage::Opus(chain), rate)
            }
        };
        Ok(AudioEncoder {
            codec,
            in_rate,
            codec_rate,
            stage,
            resampler: resampler(in_rate, codec_rate)?,
            fed: 0,
            pending_pcm: Vec::new(),
            pending_bytes: Vec::new(),
            scratch: Vec::new(),
        })
    }

    pub fn codec(&self) -> AudioCodec {
        self.codec
    }

    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    /// Encodes `pcm` (mono, at the input rate, any length) and returns the
    /// complete 20 ms payloads it finished (zero or more; the rest waits for
    /// the next call). Pushing exactly 20 ms at a time gives one payload per
    /// call.
    pub fn encode(&mut self, pcm: &[i16]) -> Result<Vec<Vec<u8>>, Error> {
        if pcm.is_empty() {
            return Ok(Vec::new());
        }
        let pcm: Cow<'_, [i16]> = match &mut self.resampler {
            None => Cow::Borrowed(pcm),
            Some(resampler) => {
                self.scratch.clear();
                resampler.process(pcm, &mut self.scratch)?;
                Cow::Borrowed(&self.scratch[..])
            }
        };
        let spf = frame_samples(self.codec_rate);
        let mut payloads = Vec::new();
        match &self.stage {
            EncodeStage::Ulaw | EncodeStage::Alaw => {
                let encode: fn(i16) -> u8 = if matches!(self.stage, EncodeStage::Ulaw) {
                    linear_to_ulaw
                } else {
                    linear_to_alaw
                };
                self.pending_pcm.extend_from_slice(&pcm);
                let whole = self.pending_pcm.len() / spf * spf;
                payloads.extend(
                    self.pending_pcm[..whole]
                        .chunks_exact(spf)
                        .map(|frame| frame.iter().map(|&s| encode(s)).collect()),
                );
                self.pending_pcm.drain(..whole);
            }
            EncodeStage::G722(chain) => {
                let buffers = chain.push(pcm_buffer(&pcm, self.fed, self.codec_rate))?;
                for buffer in &buffers {
                    self.pending_bytes
                        .extend_from_slice(buffer.map_readable()?.as_slice());
                }
                let whole =
                    self.pending_bytes.len() / G711_G722_PAYLOAD_BYTES * G711_G722_PAYLOAD_BYTES;
                payloads.extend(
                    self.pending_bytes[..whole]
                        .chunks_exact(G711_G722_PAYLOAD_BYTES)
                        .map(<[u8]>::to_vec),
                );
                self.pending_bytes.drain(..whole);
            }
            EncodeStage::Opus(chain) => {
                let buffers = chain.push(pcm_buffer(&pcm, self.fed, self.codec_rate))?;
                for buffer in &buffers {
                    if buffer.flags().contains(gst::BufferFlags::HEADER) {
                        continue;
                    }
                    let map = buffer.map_readable()?;
                    let data = map.as_slice();
                    if data.is_empty()
                        || data.starts_with(b"OpusHead")
                        || data.starts_with(b"OpusTags")
                    {
                        continue;
                    }
                    payloads.push(data.to_vec());
                }
            }
        }
        self.fed += pcm.len() as u64;
        Ok(payloads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_of_silence_and_full_scale() {
        assert_eq!(level_dbov(&[]), 127);
        assert_eq!(level_dbov(&[0; 160]), 127);
        assert_eq!(level_dbov(&[32767, -32767]), 0);
    }

    #[test]
    fn g711_round_trips_its_own_codes() {
        for b in 0..=255u8 {
            // 0x7F is µ-law's "negative zero", which encodes back as 0xFF.
            let ulaw = if b == 0x7F { 0xFF } else { b };
            assert_eq!(linear_to_ulaw(ulaw_to_linear(b)), ulaw);
            assert_eq!(linear_to_alaw(alaw_to_linear(b)), b);
        }
    }
}
