//! Prompt audio: decoding Ogg Opus files to PCM and encoding PCM into 20 ms
//! RTP payloads.

use std::time::Duration;

use crate::Error;
use crate::util::{parse_pipeline, run_to_eos, timed_buffer};

/// Time limit for a synchronous encode/decode run.
const RUN_TIMEOUT: Duration = Duration::from_secs(10);

/// Payload duration produced by [`encode_frames`].
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// Decodes the bytes of an Ogg Opus file to mono signed 16-bit PCM at `rate` Hz
/// (`appsrc ! oggdemux ! opusdec ! audioconvert ! audioresample ! appsink`, run
/// synchronously to EOS, at most 10 s).
pub fn decode_ogg_opus(bytes: &[u8], rate: u32) -> Result<Vec<i16>, Error> {
    crate::init()?;
    if bytes.is_empty() {
        return Err(Error::InvalidInput("empty Ogg Opus data".into()));
    }
    if !(8000..=192_000).contains(&rate) {
        return Err(Error::InvalidInput(format!(
            "unsupported sample rate {rate}"
        )));
    }
    let pipeline = parse_pipeline(&format!(
        "appsrc name=src format=bytes caps=application/ogg ! oggdemux ! opusdec ! \
         audioconvert ! audioresample ! \
         audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate={rate} ! \
         appsink name=sink sync=false"
    ))?;
    let input = gst::Buffer::from_mut_slice(bytes.to_vec());
    let buffers = run_to_eos(pipeline, vec![input], RUN_TIMEOUT)?;
    let mut pcm = Vec::new();
    for buffer in &buffers {
        let map = buffer.map_readable()?;
        pcm.extend(
            map.as_slice()
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    }
    if pcm.is_empty() {
        return Err(Error::Pipeline(
            "no audio decoded from Ogg Opus data".into(),
        ));
    }
    Ok(pcm)
}

/// The codecs [`encode_frames`] produces: the SIP leg's own codec type.
pub use cvi_media::sdp::AudioCodec;

/// The PCM sample rate [`encode_frames`] expects for `codec`.
pub fn pcm_rate(codec: AudioCodec) -> u32 {
    match codec {
        AudioCodec::Pcmu | AudioCodec::Pcma => 8000,
        AudioCodec::G722 => 16000,
        AudioCodec::Opus => 48000,
    }
}

/// PCM samples per 20 ms frame of `codec` (the rates are all multiples of 50).
pub fn samples_per_frame(codec: AudioCodec) -> usize {
    (pcm_rate(codec) / 50) as usize
}

/// Encodes mono PCM into consecutive 20 ms RTP payloads of `codec`.
///
/// `rate` must be [`pcm_rate`] (8000 for G.711, 16000 for G.722,
/// 48000 for Opus), otherwise [`Error::SampleRate`]. The last frame is padded
/// with silence, so the result has `ceil(pcm.len() / samples_per_frame)`
/// payloads (empty input gives no payloads). G.711 is encoded in Rust
/// (160 bytes per frame); G.722 uses `avenc_g722` (160 bytes per frame);
/// Opus uses `opusenc frame-size=20 bitrate=32000` (one packet per frame).
pub fn encode_frames(pcm: &[i16], rate: u32, codec: AudioCodec) -> Result<Vec<Vec<u8>>, Error> {
    let expected = pcm_rate(codec);
    if rate != expected {
        return Err(Error::SampleRate {
            codec,
            rate,
            expected,
        });
    }
    if pcm.is_empty() {
        return Ok(Vec::new());
    }
    let spf = samples_per_frame(codec);
    let frames = pcm.len().div_ceil(spf);
    let mut padded = pcm.to_vec();
    padded.resize(frames * spf, 0);
    match codec {
        AudioCodec::Pcmu => Ok(padded
            .chunks_exact(spf)
            .map(|f| f.iter().map(|&s| linear_to_ulaw(s)).collect())
            .collect()),
        AudioCodec::Pcma => Ok(padded
            .chunks_exact(spf)
            .map(|f| f.iter().map(|&s| linear_to_alaw(s)).collect())
            .collect()),
        AudioCodec::G722 => encode_g722(&padded, frames),
        AudioCodec::Opus => encode_opus(&padded, frames),
    }
}

/// Pushes `pcm` in 20 ms buffers through `appsrc ! ENCODER ! appsink`.
fn run_encoder(encoder: &str, pcm: &[i16], rate: u32) -> Result<Vec<gst::Buffer>, Error> {
    crate::init()?;
    let pipeline = parse_pipeline(&format!(
        "appsrc name=src format=time \
         caps=audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate={rate} ! \
         {encoder} ! appsink name=sink sync=false"
    ))?;
    let spf = (rate / 50) as usize;
    let buffers = pcm
        .chunks(spf)
        .enumerate()
        .map(|(i, chunk)| {
            let data: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
            timed_buffer(data, FRAME_DURATION * i as u32, FRAME_DURATION)
        })
        .collect();
    run_to_eos(pipeline, buffers, RUN_TIMEOUT)
}

fn encode_g722(pcm: &[i16], frames: usize) -> Result<Vec<Vec<u8>>, Error> {
    const FRAME_BYTES: usize = 160; // 64 kbit/s * 20 ms
    let buffers = run_encoder("avenc_g722", pcm, 16000)?;
    let mut stream = Vec::with_capacity(frames * FRAME_BYTES);
    for buffer in &buffers {
        stream.extend_from_slice(buffer.map_readable()?.as_slice());
    }
    if stream.len() < frames * FRAME_BYTES {
        return Err(Error::Pipeline(format!(
            "avenc_g722 produced {} bytes, expected {}",
            stream.len(),
            frames * FRAME_BYTES
        )));
    }
    stream.truncate(frames * FRAME_BYTES);
    Ok(stream
        .chunks_exact(FRAME_BYTES)
        .map(<[u8]>::to_vec)
        .collect())
}

fn encode_opus(pcm: &[i16], frames: usize) -> Result<Vec<Vec<u8>>, Error> {
    let buffers = run_encoder("opusenc frame-size=20 bitrate=32000", pcm, 48000)?;
    let mut packets = Vec::with_capacity(frames + 1);
    for buffer in &buffers {
        if buffer.flags().contains(gst::BufferFlags::HEADER) {
            continue; // OpusHead / OpusTags
        }
        let map = buffer.map_readable()?;
        let data = map.as_slice();
        if data.starts_with(b"OpusHead") || data.starts_with(b"OpusTags") {
            continue;
        }
        packets.push(data.to_vec());
    }
    if packets.len() < frames {
        return Err(Error::Pipeline(format!(
            "opusenc produced {} packets, expected {frames}",
            packets.len()
        )));
    }
    // opusenc may flush one extra packet for its look-ahead at EOS; it only
    // carries the last few ms of padding.
    packets.truncate(frames);
    Ok(packets)
}

/// Kept apart from `cvi_media::dtmf::g711` (14-bit scale): this one matches GStreamer's
/// `mulawenc` byte for byte, which the tests hold it to.
/// G.711 µ-law encoding of one sample (ITU-T G.711, with the usual bias).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// G.711 A-law encoding of one sample.
pub fn linear_to_alaw(sample: i16) -> u8 {
    const SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let mut pcm = i32::from(sample) >> 3;
    let mask: u8 = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let Some(seg) = SEG_END.iter().position(|&end| pcm <= end) else {
        return 0x7F ^ mask;
    };
    let mut aval = (seg as i32) << 4;
    if seg < 2 {
        aval |= (pcm >> 1) & 0x0F;
    } else {
        aval |= (pcm >> seg) & 0x0F;
    }
    (aval as u8) ^ mask
}
