//! RFC 6184 `profile-level-id`: profile_idc, profile-iop, level_idc.
//!
//! Profiles and levels are compared as values, never as strings:
//! `42e01f`, `42c01f` and `4d401f`… name the same Constrained Baseline
//! profile, and `42f00b` is level 1b, not 1.1.

use std::fmt;

/// Why an H.264 parameter was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum H264Error {
    #[error("profile-level-id is not six hex digits")]
    BadProfileLevelId,
    #[error("unknown H.264 profile")]
    UnknownProfile,
    #[error("unknown H.264 level")]
    UnknownLevel,
    #[error("bad value for fmtp parameter {0}")]
    BadParameter(&'static str),
}

/// constraint_set3_flag in profile-iop: with level_idc 11 it means level 1b
/// for the Baseline, Main and Extended profiles.
const SET3: u8 = 0x10;

/// H.264 profiles (RFC 6184 table 5, plus the later Constrained/Progressive High).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum H264Profile {
    ConstrainedBaseline,
    Baseline,
    Main,
    Extended,
    High,
    /// High with constraint_set4 (progressive only).
    ProgressiveHigh,
    /// High with constraint_set4+5 (no B slices), as WebRTC uses `640c`.
    ConstrainedHigh,
    High10,
    High422,
    High444,
    High10Intra,
    High422Intra,
    High444Intra,
    Cavlc444Intra,
}

/// (profile_idc, mask, value, profile): `iop & mask == value`.
/// Order matters: Constrained Baseline is checked before Baseline.
const PATTERNS: &[(u8, u8, u8, H264Profile)] = &[
    (0x42, 0x4F, 0x40, H264Profile::ConstrainedBaseline), // x1xx0000
    (0x4D, 0x8F, 0x80, H264Profile::ConstrainedBaseline), // 1xxx0000
    (0x58, 0xCF, 0xC0, H264Profile::ConstrainedBaseline), // 11xx0000
    (0x42, 0x4F, 0x00, H264Profile::Baseline),            // x0xx0000
    (0x58, 0xCF, 0x80, H264Profile::Baseline),            // 10xx0000
    (0x4D, 0xAF, 0x00, H264Profile::Main),                // 0x0x0000
    (0x58, 0xCF, 0x00, H264Profile::Extended),            // 00xx0000
    (0x64, 0xFF, 0x00, H264Profile::High),
    (0x64, 0xFF, 0x08, H264Profile::ProgressiveHigh),
    (0x64, 0xFF, 0x0C, H264Profile::ConstrainedHigh),
    (0x6E, 0xFF, 0x00, H264Profile::High10),
    (0x7A, 0xFF, 0x00, H264Profile::High422),
    (0xF4, 0xFF, 0x00, H264Profile::High444),
    (0x6E, 0xFF, 0x10, H264Profile::High10Intra),
    (0x7A, 0xFF, 0x10, H264Profile::High422Intra),
    (0xF4, 0xFF, 0x10, H264Profile::High444Intra),
    (0x2C, 0xFF, 0x10, H264Profile::Cavlc444Intra),
];

impl H264Profile {
    /// Whether every stream of profile `self` is decodable by a decoder of
    /// profile `decoder` (e.g. Constrained Baseline by a High decoder, but
    /// Baseline — with FMO/ASO — only by Baseline or Extended).
    pub fn is_subset_of(self, decoder: H264Profile) -> bool {
        use H264Profile::*;
        let high_family = |p: H264Profile| rank_high(p).is_some();
        match self {
            _ if self == decoder => true,
            ConstrainedBaseline => !matches!(
                decoder,
                High10Intra | High422Intra | High444Intra | Cavlc444Intra
            ),
            Baseline => decoder == Extended,
            Main => high_family(decoder),
            p if high_family(p) => match (rank_high(p), rank_high(decoder)) {
                (Some(a), Some(b)) => a <= b,
                _ => false,
            },
            _ => false,
        }
    }

    /// cpbBrVclFactor (H.264 table A-2): bit/s per unit of MaxBR / max-br.
    pub fn cpb_br_vcl_factor(self) -> u64 {
        use H264Profile::*;
        match self {
            ConstrainedBaseline | Baseline | Main | Extended => 1000,
            High | ProgressiveHigh | ConstrainedHigh => 1250,
            High10 | High10Intra => 3000,
            High422 | High444 | High422Intra | High444Intra | Cavlc444Intra => 4000,
        }
    }
}

/// Position in the High family's inclusion chain (Main decodes into it too).
fn rank_high(p: H264Profile) -> Option<u8> {
    use H264Profile::*;
    match p {
        ConstrainedHigh | ProgressiveHigh => Some(0),
        High => Some(1),
        High10 => Some(2),
        High422 => Some(3),
        High444 => Some(4),
        _ => None,
    }
}

/// H.264 levels in increasing order (1b sits between 1 and 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum H264Level {
    L1,
    L1b,
    L1_1,
    L1_2,
    L1_3,
    L2,
    L2_1,
    L2_2,
    L3,
    L3_1,
    L3_2,
    L4,
    L4_1,
    L4_2,
    L5,
    L5_1,
    L5_2,
    L6,
    L6_1,
    L6_2,
}

/// Per-level limits from H.264 table A-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelLimits {
    /// Macroblocks per second.
    pub max_mbps: u32,
    /// Frame size in macroblocks.
    pub max_fs: u32,
    /// In units of cpbBrVclFactor bit/s (kbit/s for Baseline/Main).
    pub max_br: u32,
}

/// (level, level_idc, MaxMBPS, MaxFS, MaxBR).
const LEVELS: &[(H264Level, u8, u32, u32, u32)] = &[
    (H264Level::L1, 10, 1485, 99, 64),
    (H264Level::L1b, 9, 1485, 99, 128),
    (H264Level::L1_1, 11, 3000, 396, 192),
    (H264Level::L1_2, 12, 6000, 396, 384),
    (H264Level::L1_3, 13, 11880, 396, 768),
    (H264Level::L2, 20, 11880, 396, 2000),
    (H264Level::L2_1, 21, 19800, 792, 4000),
    (H264Level::L2_2, 22, 20250, 1620, 4000),
    (H264Level::L3, 30, 40500, 1620, 10000),
    (H264Level::L3_1, 31, 108000, 3600, 14000),
    (H264Level::L3_2, 32, 216000, 5120, 20000),
    (H264Level::L4, 40, 245760, 8192, 20000),
    (H264Level::L4_1, 41, 245760, 8192, 50000),
    (H264Level::L4_2, 42, 522240, 8704, 50000),
    (H264Level::L5, 50, 589824, 22080, 135000),
    (H264Level::L5_1, 51, 983040, 36864, 240000),
    (H264Level::L5_2, 52, 2073600, 36864, 240000),
    (H264Level::L6, 60, 4177920, 139264, 240000),
    (H264Level::L6_1, 61, 8355840, 139264, 480000),
    (H264Level::L6_2, 62, 16711680, 139264, 800000),
];

impl H264Level {
    fn row(self) -> (H264Level, u8, u32, u32, u32) {
        LEVELS
            .iter()
            .copied()
            .find(|r| r.0 == self)
            .unwrap_or((H264Level::L1, 10, 1485, 99, 64))
    }

    /// Table A-1 limits for this level.
    pub fn limits(self) -> LevelLimits {
        let (_, _, max_mbps, max_fs, max_br) = self.row();
        LevelLimits {
            max_mbps,
            max_fs,
            max_br,
        }
    }

    /// The level as a decimal string (`"3.1"`, `"1b"`), for logs.
    pub fn name(self) -> String {
        match self {
            H264Level::L1b => "1b".into(),
            l => {
                let idc = l.row().1;
                format!("{}.{}", idc / 10, idc % 10).replace(".0", "")
            }
        }
    }
}

/// Returns `true` for the profiles whose level 1b is written as level_idc 11
/// plus constraint_set3 (RFC 6184 §8.1).
fn set3_means_1b(profile_idc: u8) -> bool {
    matches!(profile_idc, 0x42 | 0x4D | 0x58)
}

/// The three bytes of `profile-level-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileLevelId {
    pub profile_idc: u8,
    /// The constraint_set flags byte.
    pub profile_iop: u8,
    pub level_idc: u8,
}

impl ProfileLevelId {
    /// The RFC 6184 default when `profile-level-id` is absent: Baseline, level 1.
    pub const DEFAULT: ProfileLevelId = ProfileLevelId {
        profile_idc: 0x42,
        profile_iop: 0x00,
        level_idc: 10,
    };

    /// Parses six hex digits, either case.
    pub fn parse(s: &str) -> Result<Self, H264Error> {
        let bytes = s.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_hexdigit) {
            return Err(H264Error::BadProfileLevelId);
        }
        let v = u32::from_str_radix(s, 16).map_err(|_| H264Error::BadProfileLevelId)?;
        let [_, profile_idc, profile_iop, level_idc] = v.to_be_bytes();
        Ok(ProfileLevelId {
            profile_idc,
            profile_iop,
            level_idc,
        })
    }

    /// A canonical id for a profile and level (`42e0xx` for Constrained
    /// Baseline, `4200xx`, `4d00xx`, `6400xx`, `640cxx`…).
    pub fn new(profile: H264Profile, level: H264Level) -> Self {
        use H264Profile::*;
        let (profile_idc, profile_iop) = match profile {
            ConstrainedBaseline => (0x42, 0xE0),
            Baseline => (0x42, 0x00),
            Main => (0x4D, 0x00),
            Extended => (0x58, 0x00),
            High => (0x64, 0x00),
            ProgressiveHigh => (0x64, 0x08),
            ConstrainedHigh => (0x64, 0x0C),
            High10 => (0x6E, 0x00),
            High422 => (0x7A, 0x00),
            High444 => (0xF4, 0x00),
            High10Intra => (0x6E, 0x10),
            High422Intra => (0x7A, 0x10),
            High444Intra => (0xF4, 0x10),
            Cavlc444Intra => (0x2C, 0x10),
        };
        ProfileLevelId {
            profile_idc,
            profile_iop,
            level_idc: 0,
        }
        .with_level(level)
    }

    /// The profile named by profile_idc and the constraint flags.
    pub fn profile(&self) -> Result<H264Profile, H264Error> {
        PATTERNS
            .iter()
            .find(|(idc, mask, value, _)| {
                *idc == self.profile_idc && self.profile_iop & mask == *value
            })
            .map(|p| p.3)
            .ok_or(H264Error::UnknownProfile)
    }

    /// The level, applying the two level-1b encodings.
    pub fn level(&self) -> Result<H264Level, H264Error> {
        if self.level_idc == 11 && set3_means_1b(self.profile_idc) && self.profile_iop & SET3 != 0 {
            return Ok(H264Level::L1b);
        }
        LEVELS
            .iter()
            .find(|r| r.1 == self.level_idc)
            .map(|r| r.0)
            .ok_or(H264Error::UnknownLevel)
    }

    /// Same profile flags, another level. Level 1b is written the way the
    /// profile requires (level_idc 11 + constraint_set3 for Baseline, Main
    /// and Extended; level_idc 9 otherwise) and level 1.1 clears
    /// constraint_set3 for those profiles so that it is not read as 1b.
    pub fn with_level(self, level: H264Level) -> Self {
        let mut out = self;
        let b_m_e = set3_means_1b(self.profile_idc);
        match level {
            H264Level::L1b if b_m_e => {
                out.level_idc = 11;
                out.profile_iop |= SET3;
            }
            l => {
                out.level_idc = l.row().1;
                if b_m_e && l == H264Level::L1_1 {
                    out.profile_iop &= !SET3;
                }
            }
        }
        out
    }

    /// Whether both ids name the same profile (levels ignored).
    pub fn same_profile(&self, other: &ProfileLevelId) -> bool {
        matches!((self.profile(), other.profile()), (Ok(a), Ok(b)) if a == b)
    }
}

impl fmt::Display for ProfileLevelId {
    /// Six lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}{:02x}{:02x}",
            self.profile_idc, self.profile_iop, self.level_idc
        )
    }
}

#[cfg(test)]
#[path = "h264_tests.rs"]
mod tests;
