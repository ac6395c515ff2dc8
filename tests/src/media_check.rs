//! Reading what a client recorded: WAV levels and PNG frames (sizes and brightness), for
//! tests that prove on the client side what media the gateway sent.

use anyhow::{Context, Result, bail, ensure};
use std::path::Path;
use std::process::Command;

/// A 16-bit PCM WAV file's samples (interleaved) and format.
#[derive(Debug, Clone)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<i16>,
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

    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64
            / f64::from(self.sample_rate.max(1))
            / f64::from(self.channels.max(1))
    }

    /// RMS (0..32768) of the samples between `from` and `to` seconds.
    pub fn rms(&self, from: f64, to: f64) -> f64 {
        let per_sec = f64::from(self.sample_rate) * f64::from(self.channels);
        let a = ((from * per_sec) as usize).min(self.samples.len());
        let b = ((to * per_sec) as usize).clamp(a, self.samples.len());
        let part = self.samples.get(a..b).unwrap_or_default();
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
        let (width, height) = png_size(path)?;
        let out = tempfile::NamedTempFile::new()?;
        let status = Command::new("gst-launch-1.0")
            .arg("-q")
            .arg("filesrc")
            .arg(format!("location={}", path.display()))
            .args([
                "!",
                "pngdec",
                "!",
                "videoconvert",
                "!",
                "video/x-raw,format=GRAY8",
                "!",
            ])
            .arg("filesink")
            .arg(format!("location={}", out.path().display()))
            .status()
            .context("gst-launch-1.0 (install gstreamer1.0-tools)")?;
        ensure!(status.success(), "pngdec failed on {}", path.display());
        let raw = std::fs::read(out.path())?;
        // GRAY8 rows are padded to 4 bytes.
        let stride = (width as usize).div_ceil(4) * 4;
        ensure!(
            raw.len() >= stride * height as usize,
            "decoded {} bytes for {width}x{height}",
            raw.len()
        );
        let mut pixels = Vec::with_capacity((width * height) as usize);
        for row in raw.chunks(stride).take(height as usize) {
            pixels.extend_from_slice(row.get(..width as usize).unwrap_or_default());
        }
        Ok(Gray {
            width,
            height,
            pixels,
        })
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
