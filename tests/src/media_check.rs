//! Reading what a client recorded: WAV levels and PNG frames (sizes and brightness), for
//! tests that prove on the client side what media the gateway sent; and making media for a
//! client to send (a WAV, an mp4 clip).
//!
//! With baresip ([`crate::baresip::BaresipOpts::record`]):
//!
//! ```no_run
//! # use cvi_e2e::{baresip::Baresip, media_check::{Gray, png_size, wav_stats}};
//! # fn f(b: &Baresip) -> anyhow::Result<()> {
//! let frame = b.received_frame(std::time::Duration::from_secs(5))?;
//! assert_eq!(png_size(&frame)?, (640, 360));
//! assert!(Gray::from_png(&frame)?.mean(0.0, 0.0, 0.1, 0.5) > 150.0);
//! let audio = wav_stats(&b.received_audio()?)?;
//! assert!(audio.rms > 1000.0, "{audio:?}");
//! # Ok(()) }
//! ```

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A 16-bit PCM WAV file's samples (interleaved) and format.
#[derive(Debug, Clone)]
pub struct Wav {
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels per frame.
    pub channels: u16,
    /// Interleaved samples.
    pub samples: Vec<i16>,
}

/// Summary of a WAV file, from [`wav_stats`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WavStats {
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels per frame.
    pub channels: u16,
    /// Length in seconds.
    pub duration_secs: f64,
    /// RMS of all samples (0..32768; a 440 Hz sine from baresip's `ausine` through PCMU is
    /// ~10000, decoded PCMU silence ~2).
    pub rms: f64,
    /// Largest absolute sample value.
    pub peak: u16,
}

/// Reads a 16-bit PCM WAV (see [`Wav::read`]) and summarises it.
pub fn wav_stats(path: &Path) -> Result<WavStats> {
    Ok(Wav::read(path)?.stats())
}

impl Wav {
    /// Parses a RIFF/WAVE file with 16-bit PCM data. A data chunk whose length field is 0 or
    /// too large (a writer that was not closed) is read to the end of the file.
    pub fn read(path: &Path) -> Result<Wav> {
        let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        ensure!(
            b.get(..4) == Some(b"RIFF") && b.get(8..12) == Some(b"WAVE"),
            "{} is not a WAV file",
            path.display()
        );
        let u16_at = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
        let u32_at = |i: usize| {
            b.get(i..i + 4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        };
        let (mut i, mut fmt) = (12usize, None);
        while let (Some(id), Some(len)) = (b.get(i..i + 4), u32_at(i + 4)) {
            let body = i + 8;
            match id {
                b"fmt " => {
                    let format = u16_at(body).context("fmt")?;
                    let channels = u16_at(body + 2).context("fmt")?;
                    let rate = u32_at(body + 4).context("fmt")?;
                    let bits = u16_at(body + 14).context("fmt")?;
                    ensure!(
                        (format == 1 || format == 0xfffe) && bits == 16,
                        "WAV format {format}, {bits} bits: only 16-bit PCM is read"
                    );
                    fmt = Some((rate, channels));
                }
                b"data" => {
                    let (sample_rate, channels) = fmt.context("WAV data before fmt")?;
                    let end = match usize::try_from(len) {
                        Ok(l) if l > 0 && body + l <= b.len() => body + l,
                        _ => b.len(),
                    };
                    let data = b.get(body..end).unwrap_or_default();
                    let samples = data
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]))
                        .collect();
                    return Ok(Wav {
                        sample_rate,
                        channels,
                        samples,
                    });
                }
                _ => {}
            }
            i = body + usize::try_from(len).unwrap_or(usize::MAX / 2) + (len as usize & 1);
        }
        bail!("{}: no data chunk", path.display())
    }

    /// Writes the samples as a 16-bit PCM WAV file (e.g. a silent source for baresip's
    /// `aufile`: 48000 Hz, 2 channels).
    pub fn write(&self, path: &Path) -> Result<()> {
        let data = u32::try_from(self.samples.len() * 2).context("WAV too long")?;
        let block = self.channels * 2;
        let mut b = Vec::with_capacity(44 + self.samples.len() * 2);
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes()); // PCM
        b.extend_from_slice(&self.channels.to_le_bytes());
        b.extend_from_slice(&self.sample_rate.to_le_bytes());
        b.extend_from_slice(&(self.sample_rate * u32::from(block)).to_le_bytes());
        b.extend_from_slice(&block.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data.to_le_bytes());
        for s in &self.samples {
            b.extend_from_slice(&s.to_le_bytes());
        }
        std::fs::write(path, b).with_context(|| format!("writing {}", path.display()))
    }

    /// `secs` seconds of zeros.
    pub fn silence(sample_rate: u32, channels: u16, secs: f64) -> Wav {
        let n = (f64::from(sample_rate) * secs) as usize * usize::from(channels);
        Wav {
            sample_rate,
            channels,
            samples: vec![0; n],
        }
    }

    /// Format, length, RMS and peak of the whole file.
    pub fn stats(&self) -> WavStats {
        let d = self.duration_secs();
        WavStats {
            sample_rate: self.sample_rate,
            channels: self.channels,
            duration_secs: d,
            rms: self.rms(0.0, d),
            peak: self.peak(0.0, d),
        }
    }

    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64
            / f64::from(self.sample_rate.max(1))
            / f64::from(self.channels.max(1))
    }

    /// The samples between `from` and `to` seconds (clamped to the file).
    fn window(&self, from: f64, to: f64) -> &[i16] {
        let per_sec = f64::from(self.sample_rate) * f64::from(self.channels);
        let a = ((from.max(0.0) * per_sec) as usize).min(self.samples.len());
        let b = ((to.max(0.0) * per_sec) as usize).clamp(a, self.samples.len());
        self.samples.get(a..b).unwrap_or_default()
    }

    /// Largest absolute sample value between `from` and `to` seconds.
    pub fn peak(&self, from: f64, to: f64) -> u16 {
        self.window(from, to)
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0)
    }

    /// RMS (0..32768) of the samples between `from` and `to` seconds; 0 for an empty window.
    pub fn rms(&self, from: f64, to: f64) -> f64 {
        let part = self.window(from, to);
        if part.is_empty() {
            return 0.0;
        }
        let sum: f64 = part.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        (sum / part.len() as f64).sqrt()
    }
}

/// A PNG's size, read from its IHDR chunk.
pub fn png_size(path: &Path) -> Result<(u32, u32)> {
    let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        b.get(..8) == Some(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR"),
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| -> Result<u32> {
        let s = b.get(i..i + 4).context("short PNG")?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    Ok((be(16)?, be(20)?))
}

/// Decodes a PNG with `gst-launch-1.0` (pngdec → `format`, `bytes_per_pixel` each):
/// (width, height, unpadded rows).
fn decode_png(path: &Path, format: &str, bytes_per_pixel: usize) -> Result<(u32, u32, Vec<u8>)> {
    let (width, height) = png_size(path)?;
    let out = tempfile::NamedTempFile::new()?;
    let status = Command::new("gst-launch-1.0")
        .arg("-q")
        .arg("filesrc")
        .arg(format!("location={}", path.display()))
        .args(["!", "pngdec", "!", "videoconvert", "!"])
        .arg(format!("video/x-raw,format={format}"))
        .arg("!")
        .arg("filesink")
        .arg(format!("location={}", out.path().display()))
        .status()
        .context("gst-launch-1.0 (install gstreamer1.0-tools)")?;
    ensure!(status.success(), "pngdec failed on {}", path.display());
    let raw = std::fs::read(out.path())?;
    // Raw video rows are padded to 4 bytes.
    let row = width as usize * bytes_per_pixel;
    let stride = row.div_ceil(4) * 4;
    ensure!(
        raw.len() >= stride * height as usize,
        "decoded {} bytes for {width}x{height}",
        raw.len()
    );
    let mut pixels = Vec::with_capacity(row * height as usize);
    for r in raw.chunks(stride).take(height as usize) {
        pixels.extend_from_slice(r.get(..row).unwrap_or_default());
    }
    Ok((width, height, pixels))
}

/// A picture as 8-bit luma, decoded by GStreamer (`pngdec`), row by row.
#[derive(Debug, Clone)]
pub struct Gray {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Gray {
    /// Decodes a PNG to luma with `gst-launch-1.0` (pngdec → GRAY8).
    pub fn from_png(path: &Path) -> Result<Gray> {
        let (width, height, pixels) = decode_png(path, "GRAY8", 1)?;
        Ok(Gray {
            width,
            height,
            pixels,
        })
    }

    /// Luma at pixel (`x`, `y`); `None` outside the picture.
    pub fn at(&self, x: u32, y: u32) -> Option<u8> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.pixels
            .get(y as usize * self.width as usize + x as usize)
            .copied()
    }

    /// Mean luma of the rectangle (fractions of width and height, 0..1).
    pub fn mean(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let (xa, xb) = ((x0 * w) as usize, (x1 * w) as usize);
        let (ya, yb) = ((y0 * h) as usize, (y1 * h) as usize);
        let (mut sum, mut n) = (0u64, 0u64);
        for y in ya..yb.min(self.height as usize) {
            for x in xa..xb.min(self.width as usize) {
                if let Some(p) = self.pixels.get(y * self.width as usize + x) {
                    sum += u64::from(*p);
                    n += 1;
                }
            }
        }
        if n == 0 { 0.0 } else { sum as f64 / n as f64 }
    }

    /// The brightest luma value in the rectangle.
    pub fn max(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> u8 {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let mut m = 0;
        for y in ((y0 * h) as usize)..((y1 * h) as usize).min(self.height as usize) {
            for x in ((x0 * w) as usize)..((x1 * w) as usize).min(self.width as usize) {
                m = m.max(
                    self.pixels
                        .get(y * self.width as usize + x)
                        .copied()
                        .unwrap_or(0),
                );
            }
        }
        m
    }
}

/// A picture as 8-bit RGB, decoded by GStreamer (`pngdec`), for colour checks.
#[derive(Debug, Clone)]
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    /// R, G, B per pixel, row by row.
    pub pixels: Vec<u8>,
}

impl Rgb {
    /// Decodes a PNG to RGB with `gst-launch-1.0` (pngdec → RGB).
    pub fn from_png(path: &Path) -> Result<Rgb> {
        let (width, height, pixels) = decode_png(path, "RGB", 3)?;
        Ok(Rgb {
            width,
            height,
            pixels,
        })
    }

    /// Mean (R, G, B) of the rectangle (fractions of width and height, 0..1).
    pub fn mean(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> [f64; 3] {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let (xa, xb) = ((x0 * w) as usize, (x1 * w) as usize);
        let (ya, yb) = ((y0 * h) as usize, (y1 * h) as usize);
        let mut sum = [0u64; 3];
        let mut n = 0u64;
        for y in ya..yb.min(self.height as usize) {
            for x in xa..xb.min(self.width as usize) {
                let i = (y * self.width as usize + x) * 3;
                if let Some(p) = self.pixels.get(i..i + 3) {
                    for (s, v) in sum.iter_mut().zip(p) {
                        *s += u64::from(*v);
                    }
                    n += 1;
                }
            }
        }
        if n == 0 {
            return [0.0; 3];
        }
        sum.map(|s| s as f64 / n as f64)
    }
}

/// Makes `dir/clip-WxH.mp4`: `secs` seconds of 25 fps H.264 (8-bit 4:2:0, as baresip's
/// `avformat` needs) of GStreamer's SMPTE colour bars (`videotestsrc`, static): on the top
/// two thirds the left bar is white (luma 235, as decoded by [`Gray::from_png`]), the right
/// one blue (luma 41).
pub fn test_clip(dir: &Path, width: u32, height: u32, secs: u32) -> Result<PathBuf> {
    let path = dir.join(format!("clip-{width}x{height}.mp4"));
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc"])
        .arg(format!("num-buffers={}", secs * 25))
        .arg("!")
        .arg(format!(
            "video/x-raw,format=I420,width={width},height={height},framerate=25/1"
        ))
        .args(["!", "x264enc", "speed-preset=ultrafast", "key-int-max=25"])
        .args(["!", "mp4mux", "!", "filesink"])
        .arg(format!("location={}", path.display()))
        .status()
        .context("gst-launch-1.0 (install gstreamer1.0-tools)")?;
    ensure!(
        status.success(),
        "making {} failed: {status}",
        path.display()
    );
    Ok(path)
}

/// The frequency (Hz) of a steady tone in `wav` between `from` and `to` seconds, counted
/// from the first channel's upward crossings through a band of ±10 % of that window's peak
/// (so quantisation noise around zero does not count); 0.0 for silence or an empty window.
pub fn tone_hz(wav: &Wav, from: f64, to: f64) -> f64 {
    let ch = usize::from(wav.channels.max(1));
    let part = wav.window(from, to);
    let peak = part.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let band = i32::from(peak / 10).max(1);
    let (mut high, mut ups) = (None, 0u32);
    for s in part.iter().step_by(ch).map(|&s| i32::from(s)) {
        if s > band {
            if high == Some(false) {
                ups += 1;
            }
            high = Some(true);
        } else if s < -band {
            high = Some(false);
        }
    }
    let secs = (part.len() / ch) as f64 / f64::from(wav.sample_rate.max(1));
    if secs > 0.0 {
        f64::from(ups) / secs
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trip_and_levels() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.wav");
        // 1 s of silence then 1 s of a full-scale square wave, 8 kHz mono.
        let mut w = Wav::silence(8000, 1, 1.0);
        w.samples
            .extend((0..8000).map(|i| if i % 20 < 10 { 16000 } else { -16000 }));
        w.write(&path)?;
        let r = Wav::read(&path)?;
        assert_eq!(
            (r.sample_rate, r.channels, r.samples.len()),
            (8000, 1, 16000)
        );
        assert!(r.rms(0.0, 1.0) < 1.0);
        assert!((r.rms(1.0, 2.0) - 16000.0).abs() < 1.0);
        let st = wav_stats(&path)?;
        assert_eq!(st.peak, 16000);
        assert!((st.duration_secs - 2.0).abs() < 1e-9);
        // An unfinished writer's header (data size 0) is read to the end of the file.
        let mut b = std::fs::read(&path)?;
        b[40..44].copy_from_slice(&0u32.to_le_bytes());
        std::fs::write(&path, b)?;
        assert_eq!(Wav::read(&path)?.samples.len(), 16000);
        Ok(())
    }

    #[test]
    fn tone_frequency_is_counted() {
        // 2 s of a 440 Hz sine, 8 kHz stereo, with ±40 of noise-like jitter.
        let mut w = Wav::silence(8000, 2, 0.0);
        for i in 0..16000 {
            let v = (f64::from(i) * 2.0 * std::f64::consts::PI * 440.0 / 8000.0).sin() * 8000.0;
            let s = v as i16 + if i % 3 == 0 { 40 } else { -40 };
            w.samples.extend([s, s]);
        }
        let hz = tone_hz(&w, 0.0, 2.0);
        assert!((hz - 440.0).abs() < 2.0, "{hz}");
        assert_eq!(tone_hz(&Wav::silence(8000, 1, 1.0), 0.0, 1.0), 0.0);
    }
}
