//! G.722 (ITU-T G.722, 64 kbit/s mode 1, SB-ADPCM) decoder to 16-bit PCM
//! at 16 kHz, so that in-band DTMF in G.722 calls can be fed to
//! [`ToneDetector`](super::goertzel::ToneDetector).
//!
//! Written from the algorithm as laid out in the public-domain reference
//! (CMU/Sun, as carried on in Steve Underwood's SpanDSP `g722.c`): the
//! block numbers in the comments (`INVQBL`, `LOGSCL`, `UPPOL2`, …) are the
//! Recommendation's. Each payload byte is one codeword: bits 7–6 the
//! 2-bit higher sub-band code, bits 5–0 the 6-bit lower sub-band code;
//! each codeword yields two output samples through the 24-tap receive QMF.
//! Every byte is a valid codeword, so decoding never fails.
//!
//! Bit-exactness: on audio encoded by FFmpeg's `g722` encoder the output is
//! identical, sample for sample, to FFmpeg's `g722` decoder (GStreamer
//! `avdec_g722`) — see `tests/g722.rs`.
//!
//! Arithmetic: all state stays within 16 bits (the reference's
//! saturations and limits are kept), so the `i32` intermediate products
//! and sums cannot overflow; the QMF output is saturated to `i16`.
//! (RFC 3551 §4.5.2: the RTP clock of G.722 is 8000 Hz although the audio
//! is sampled at 16 kHz — one codeword per RTP timestamp tick.)

/// Inverse quantizer of the 6-bit lower sub-band code (`INVQBL`, mode 1).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];

/// Inverse quantizer of the 4-bit code that drives the lower sub-band's
/// adaptation (`INVQAL`).
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];

/// Log scale factor multipliers of the lower sub-band (`LOGSCL`).
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// 4-bit code → index into [`WL`].
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];

/// Log scale factor multipliers of the higher sub-band (`LOGSCH`).
const WH: [i32; 3] = [0, -214, 798];
/// 2-bit code → index into [`WH`].
const RH2: [usize; 4] = [2, 1, 2, 1];
/// Inverse quantizer of the 2-bit higher sub-band code (`INVQAH`).
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];

/// Inverse log table of the scale factors (`SCALEL`, `SCALEH`).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];

/// Receive QMF coefficients (one half of the symmetric 24-tap filter).
const QMF_COEFFS: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];

/// `WL[RL42[code]]`, resolved at compile time (an index out of range
/// would be a compile error, not a run-time panic).
const LOW_LOG_STEP: [i32; 16] = {
    let mut t = [0; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = WL[RL42[i]];
        i += 1;
    }
    t
};

/// `WH[RH2[code]]`, resolved at compile time.
const HIGH_LOG_STEP: [i32; 4] = {
    let mut t = [0; 4];
    let mut i = 0;
    while i < 4 {
        t[i] = WH[RH2[i]];
        i += 1;
    }
    t
};

/// Upper limit of the lower sub-band's log scale factor.
const LOW_NB_MAX: i32 = 18432;
/// Upper limit of the higher sub-band's log scale factor.
const HIGH_NB_MAX: i32 = 22528;

fn sat16(x: i32) -> i32 {
    x.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// Clamps `x` to `[-limit, limit]` (written out so that it cannot panic
/// the way `clamp` would for a negative `limit`).
fn limit_sym(x: i32, limit: i32) -> i32 {
    if x > limit {
        limit
    } else if x < -limit {
        -limit
    } else {
        x
    }
}

/// Scale factor from the log scale factor `nb` (`SCALEL` with `bias` 8,
/// `SCALEH` with `bias` 10). `nb` is within `0..=HIGH_NB_MAX`, so the
/// shift is between −1 (left by one) and `bias`.
fn scale_factor(nb: i32, bias: i32) -> i32 {
    let mantissa = ILB.get(((nb >> 6) & 31) as usize).copied().unwrap_or(0);
    let shift = bias - (nb >> 11);
    let wd3 = if shift < 0 {
        mantissa << (-shift).min(16)
    } else {
        mantissa >> shift.min(31)
    };
    wd3 << 2
}

/// The adaptive predictor and quantizer adaptation state of one sub-band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Band {
    /// Predicted signal (`s`).
    s: i32,
    /// Pole section of the prediction (`sp`).
    sp: i32,
    /// Zero section of the prediction (`sz`).
    sz: i32,
    /// Reconstructed signal, current and two delayed (`r`).
    r: [i32; 3],
    /// Pole coefficients (`a[1]`, `a[2]`; `a[0]` unused).
    a: [i32; 3],
    /// Updated pole coefficients (`ap`).
    ap: [i32; 3],
    /// Partially reconstructed signal (`p`).
    p: [i32; 3],
    /// Quantized difference signal, current and six delayed (`d`).
    d: [i32; 7],
    /// Zero coefficients (`b[1]`..`b[6]`).
    b: [i32; 7],
    /// Updated zero coefficients (`bp`).
    bp: [i32; 7],
    /// Log scale factor (`nb`).
    nb: i32,
    /// Scale factor (`det`).
    det: i32,
}

impl Band {
    fn new(det: i32) -> Band {
        Band {
            s: 0,
            sp: 0,
            sz: 0,
            r: [0; 3],
            a: [0; 3],
            ap: [0; 3],
            p: [0; 3],
            d: [0; 7],
            b: [0; 7],
            bp: [0; 7],
            nb: 0,
            det,
        }
    }

    /// Block 4: reconstruction, pole/zero predictor adaptation and the
    /// next prediction, given the quantized difference signal `d`.
    fn block4(&mut self, d: i32) {
        // RECONS, PARREC
        self.d[0] = d;
        self.r[0] = sat16(self.s + d);
        self.p[0] = sat16(self.sz + d);

        // UPPOL2
        let sg0 = self.p[0] >> 15;
        let sg1 = self.p[1] >> 15;
        let sg2 = self.p[2] >> 15;
        let wd1 = sat16(self.a[1] << 2);
        let wd2 = if sg0 == sg1 { -wd1 } else { wd1 }.min(32767);
        let wd3 = (wd2 >> 7) + if sg0 == sg2 { 128 } else { -128 } + ((self.a[2] * 32512) >> 15);
        self.ap[2] = limit_sym(wd3, 12288);

        // UPPOL1
        let wd1 = if sg0 == sg1 { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let wd3 = sat16(15360 - self.ap[2]);
        self.ap[1] = limit_sym(sat16(wd1 + wd2), wd3);

        // UPZERO
        let step = if d == 0 { 0 } else { 128 };
        let sg0 = d >> 15;
        for ((bp, &b), &dd) in self.bp[1..].iter_mut().zip(&self.b[1..]).zip(&self.d[1..]) {
            let wd2 = if dd >> 15 == sg0 { step } else { -step };
            *bp = sat16(wd2 + ((b * 32640) >> 15));
        }

        // DELAYA
        self.d.copy_within(0..6, 1);
        self.b[1..].copy_from_slice(&self.bp[1..]);
        self.r.copy_within(0..2, 1);
        self.p.copy_within(0..2, 1);
        self.a[1..].copy_from_slice(&self.ap[1..]);

        // FILTEP
        let wd1 = (self.a[1] * sat16(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat16(self.r[2] + self.r[2])) >> 15;
        self.sp = sat16(wd1 + wd2);

        // FILTEZ
        let sz: i32 = self.d[1..]
            .iter()
            .zip(&self.b[1..])
            .map(|(&dd, &b)| (b * sat16(dd + dd)) >> 15)
            .sum();
        self.sz = sat16(sz);

        // PREDIC
        self.s = sat16(self.sp + self.sz);
    }
}

/// Sans-IO G.722 decoder, 64 kbit/s (mode 1), 16 kHz 16-bit output.
///
/// One decoder per RTP stream; feed payloads in sequence order (a lost
/// packet simply desynchronises the predictors for a while — the ADPCM
/// adaptation recovers by itself — so there is no concealment here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct G722Decoder {
    low: Band,
    high: Band,
    /// Receive QMF history: pairs `(rlow + rhigh, rlow − rhigh)`, oldest first.
    qmf: [i32; 24],
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Decoder {
    /// A decoder in the reset state of the Recommendation.
    pub fn new() -> Self {
        G722Decoder {
            low: Band::new(32),
            high: Band::new(8),
            qmf: [0; 24],
        }
    }

    /// Returns to the state of [`G722Decoder::new`] (e.g. on an SSRC change).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Decodes one RTP payload (each byte = one 16 kHz sample pair → 2
    /// output samples), appending 16-bit PCM at 16000 Hz to `out`.
    pub fn decode_into(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        out.reserve(payload.len().saturating_mul(2));
        for &code in payload {
            let [a, b] = self.decode_codeword(code);
            out.push(a);
            out.push(b);
        }
    }

    fn decode_codeword(&mut self, code: u8) -> [i16; 2] {
        let ilow = usize::from(code & 0x3F);
        let ihigh = usize::from(code >> 6);
        let ilow4 = ilow >> 2;

        // Lower sub-band. INVQBL, RECONS, LIMIT
        let low = &mut self.low;
        let wd2 = (low.det * QM6.get(ilow).copied().unwrap_or(0)) >> 15;
        let rlow = (low.s + wd2).clamp(-16384, 16383);
        // INVQAL
        let dlowt = (low.det * QM4.get(ilow4).copied().unwrap_or(0)) >> 15;
        // LOGSCL, SCALEL
        let step = LOW_LOG_STEP.get(ilow4).copied().unwrap_or(0);
        low.nb = (((low.nb * 127) >> 7) + step).clamp(0, LOW_NB_MAX);
        low.det = scale_factor(low.nb, 8);
        low.block4(dlowt);

        // Higher sub-band. INVQAH, RECONS, LIMIT
        let high = &mut self.high;
        let dhigh = (high.det * QM2.get(ihigh).copied().unwrap_or(0)) >> 15;
        let rhigh = (high.s + dhigh).clamp(-16384, 16383);
        // LOGSCH, SCALEH
        let step = HIGH_LOG_STEP.get(ihigh).copied().unwrap_or(0);
        high.nb = (((high.nb * 127) >> 7) + step).clamp(0, HIGH_NB_MAX);
        high.det = scale_factor(high.nb, 10);
        high.block4(dhigh);

        // Receive QMF
        self.qmf.copy_within(2..24, 0);
        self.qmf[22] = rlow + rhigh;
        self.qmf[23] = rlow - rhigh;
        let (mut xout1, mut xout2) = (0i32, 0i32);
        for ((pair, &c_even), &c_odd) in self
            .qmf
            .chunks_exact(2)
            .zip(QMF_COEFFS.iter())
            .zip(QMF_COEFFS.iter().rev())
        {
            if let [even, odd] = *pair {
                xout2 += even * c_even;
                xout1 += odd * c_odd;
            }
        }
        [to_i16(xout1 >> 11), to_i16(xout2 >> 11)]
    }
}

fn to_i16(x: i32) -> i16 {
    i16::try_from(sat16(x)).unwrap_or(if x < 0 { i16::MIN } else { i16::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_resolved() {
        assert_eq!(
            LOW_LOG_STEP,
            [
                -60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60
            ]
        );
        assert_eq!(HIGH_LOG_STEP, [798, -214, 798, -214]);
    }

    #[test]
    fn two_samples_per_byte_and_reset() {
        let mut dec = G722Decoder::new();
        let mut out = vec![7];
        dec.decode_into(&[0x00, 0xFF, 0x7F, 0x80], &mut out);
        assert_eq!(out.len(), 9);
        assert_eq!(out[0], 7);
        assert_ne!(dec, G722Decoder::new());
        dec.reset();
        assert_eq!(dec, G722Decoder::default());
        dec.decode_into(&[], &mut out);
        assert_eq!(out.len(), 9);
    }

    #[test]
    fn extreme_codewords_never_overflow() {
        // Runs of the largest-magnitude codes drive the scale factors to
        // their limits; with overflow checks on (debug) any i32 overflow
        // would panic here.
        let mut dec = G722Decoder::new();
        let mut out = Vec::new();
        for code in [0x04u8, 0x20, 0xC4, 0xE0, 0x24, 0x3C] {
            dec.decode_into(&[code; 4000], &mut out);
            let alt: Vec<u8> = (0..4000)
                .map(|i| if i % 2 == 0 { code } else { code ^ 0x3C })
                .collect();
            dec.decode_into(&alt, &mut out);
        }
        assert_eq!(out.len(), 2 * 6 * 8000);
        assert!(dec.low.nb <= LOW_NB_MAX && dec.high.nb <= HIGH_NB_MAX);
    }
}
