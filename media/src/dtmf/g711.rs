//! G.711 μ-law and A-law ↔ 16-bit linear PCM.
//!
//! The bit manipulations are the classic ones of the public-domain Sun
//! `g711.c` (the same results as ITU-T G.191's reference code scaled to 16
//! bits); decoding goes through 256-entry tables that the compiler builds
//! from those functions (`const fn`), encoding uses the segment search.
//! Decoded ranges: μ-law ±32124, A-law ±32256.

/// The G.711 companding law of an audio stream (PCMU or PCMA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// PCMU, static payload type 0.
    Ulaw,
    /// PCMA, static payload type 8.
    Alaw,
}

impl Law {
    /// Decodes one byte.
    pub fn decode(self, byte: u8) -> i16 {
        match self {
            Law::Ulaw => ulaw_to_linear(byte),
            Law::Alaw => alaw_to_linear(byte),
        }
    }

    /// Encodes one sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Ulaw => linear_to_ulaw(sample),
            Law::Alaw => linear_to_alaw(sample),
        }
    }

    /// Appends the decoded samples of an RTP payload to `out`.
    pub fn decode_into(self, payload: &[u8], out: &mut Vec<i16>) {
        let table = match self {
            Law::Ulaw => &ULAW_TABLE,
            Law::Alaw => &ALAW_TABLE,
        };
        out.extend(payload.iter().map(|&b| table[usize::from(b)]));
    }

    /// Appends the encoded bytes of `samples` to `out`.
    pub fn encode_into(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&s| self.encode(s)));
    }
}

const ULAW_BIAS: i32 = 0x84;
/// Largest μ-law magnitude on the 14-bit scale (G.711 Table 2a).
const ULAW_CLIP: i32 = 8159;
const SEG_ULAW_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_ALAW_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

const fn ulaw_decode_math(byte: u8) -> i16 {
    let u = !byte;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= (u & 0x70) >> 4;
    let v = if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    };
    v as i16
}

const fn alaw_decode_math(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    let v = if a & 0x80 != 0 { t } else { -t };
    v as i16
}

const fn build_table(ulaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = if ulaw {
            ulaw_decode_math(b)
        } else {
            alaw_decode_math(b)
        };
        i += 1;
    }
    table
}

static ULAW_TABLE: [i16; 256] = build_table(true);
static ALAW_TABLE: [i16; 256] = build_table(false);

/// Decodes one μ-law byte.
pub fn ulaw_to_linear(byte: u8) -> i16 {
    ULAW_TABLE[usize::from(byte)]
}

/// Decodes one A-law byte.
pub fn alaw_to_linear(byte: u8) -> i16 {
    ALAW_TABLE[usize::from(byte)]
}

/// The segment of `value` (index of the first end ≥ value), 8 if above all.
fn segment(value: i32, ends: &[i32; 8]) -> u8 {
    let mut seg = 0u8;
    for &end in ends {
        if value <= end {
            return seg;
        }
        seg += 1;
    }
    seg
}

/// Encodes one sample as μ-law (clipped at ±8159 on the 14-bit scale).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 2;
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(v, &SEG_ULAW_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let quant = ((v >> (seg + 1)) & 0x0F) as u8;
    ((seg << 4) | quant) ^ mask
}

/// Encodes one sample as A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 3;
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &SEG_ALAW_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if seg < 2 { 1 } else { seg };
    let quant = ((v >> shift) & 0x0F) as u8;
    ((seg << 4) | quant) ^ mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_round_trips() {
        for b in 0..=255u8 {
            let u = ulaw_to_linear(b);
            assert_eq!(ulaw_to_linear(linear_to_ulaw(u)), u, "μ-law {b:#04x}");
            let a = alaw_to_linear(b);
            assert_eq!(linear_to_alaw(a), b, "A-law {b:#04x}");
        }
    }

    #[test]
    fn quantisation_error_is_bounded() {
        // Half a step, plus what the encoder's shift (>> 2, >> 3) drops:
        // a μ-law segment's half step is 1/32 of (its lower edge + 132), an
        // A-law one's 1/32 of its lower edge (8 in the linear segment).
        // Clipping at the top adds the rest.
        for s in i16::MIN..=i16::MAX {
            let u = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
            let a = i32::from(alaw_to_linear(linear_to_alaw(s)));
            let x = i32::from(s);
            let tol_u = (x.abs() + 132) / 32 + 4 + (x.abs() - 32124).max(0);
            let tol_a = (x.abs() / 32).max(8) + 8 + (x.abs() - 32256).max(0);
            assert!((u - x).abs() <= tol_u, "μ-law {s} → {u}");
            assert!((a - x).abs() <= tol_a, "A-law {s} → {a}");
        }
    }
}
