//! RFC 6184 fmtp parameters and the §8.2.2 offer/answer rules for H.264.

use super::attr::fmtp_pairs;
use super::h264::{H264Error, H264Level, H264Profile, ProfileLevelId};

/// The RFC 6184 parameters of one H.264 payload type. Unknown parameters
/// and `sprop-parameter-sets` are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H264Params {
    /// [`ProfileLevelId::DEFAULT`] when absent.
    pub profile_level_id: ProfileLevelId,
    /// 0 (single NAL), 1 (non-interleaved) or 2 (interleaved); 0 when absent.
    pub packetization_mode: u8,
    pub level_asymmetry_allowed: bool,
    /// Macroblocks/s the receiver can take beyond its level.
    pub max_mbps: Option<u32>,
    pub max_smbps: Option<u32>,
    /// Frame size in macroblocks the receiver can take beyond its level.
    pub max_fs: Option<u32>,
    pub max_cpb: Option<u32>,
    pub max_dpb: Option<u32>,
    /// In units of cpbBrVclFactor bit/s (kbit/s for Baseline and Main).
    pub max_br: Option<u32>,
    pub sprop_parameter_sets: Option<String>,
    /// Every other `key=value`, in order.
    pub other: Vec<(String, String)>,
}

impl Default for H264Params {
    fn default() -> Self {
        H264Params {
            profile_level_id: ProfileLevelId::DEFAULT,
            packetization_mode: 0,
            level_asymmetry_allowed: false,
            max_mbps: None,
            max_smbps: None,
            max_fs: None,
            max_cpb: None,
            max_dpb: None,
            max_br: None,
            sprop_parameter_sets: None,
            other: Vec::new(),
        }
    }
}

fn num(v: &str, name: &'static str) -> Result<Option<u32>, H264Error> {
    v.parse()
        .map(Some)
        .map_err(|_| H264Error::BadParameter(name))
}

impl H264Params {
    /// Parses the text of an `a=fmtp` line (keys are case-insensitive).
    /// A malformed profile-level-id, packetization-mode or number is an error.
    pub fn from_fmtp(params: &str) -> Result<Self, H264Error> {
        let mut p = H264Params::default();
        for (key, v) in fmtp_pairs(params) {
            match key.to_ascii_lowercase().as_str() {
                "profile-level-id" => p.profile_level_id = ProfileLevelId::parse(v)?,
                "packetization-mode" => {
                    p.packetization_mode = match v {
                        "0" => 0,
                        "1" => 1,
                        "2" => 2,
                        _ => return Err(H264Error::BadParameter("packetization-mode")),
                    }
                }
                "level-asymmetry-allowed" => p.level_asymmetry_allowed = v == "1",
                "max-mbps" => p.max_mbps = num(v, "max-mbps")?,
                "max-smbps" => p.max_smbps = num(v, "max-smbps")?,
                "max-fs" => p.max_fs = num(v, "max-fs")?,
                "max-cpb" => p.max_cpb = num(v, "max-cpb")?,
                "max-dpb" => p.max_dpb = num(v, "max-dpb")?,
                "max-br" => p.max_br = num(v, "max-br")?,
                "sprop-parameter-sets" => p.sprop_parameter_sets = Some(v.to_owned()),
                _ => p.other.push((key.to_owned(), v.to_owned())),
            }
        }
        Ok(p)
    }

    /// The profile named by profile-level-id.
    pub fn profile(&self) -> Result<H264Profile, H264Error> {
        self.profile_level_id.profile()
    }

    /// The level named by profile-level-id.
    pub fn level(&self) -> Result<H264Level, H264Error> {
        self.profile_level_id.level()
    }

    /// The fmtp text for an answer or offer: the parameters this module
    /// understands, in a fixed order (unknown ones are not echoed).
    pub fn to_fmtp(&self) -> String {
        let mut s = format!(
            "profile-level-id={};packetization-mode={}",
            self.profile_level_id, self.packetization_mode
        );
        if self.level_asymmetry_allowed {
            s.push_str(";level-asymmetry-allowed=1");
        }
        for (k, v) in [
            ("max-mbps", self.max_mbps),
            ("max-fs", self.max_fs),
            ("max-br", self.max_br),
        ] {
            if let Some(v) = v {
                s.push_str(&format!(";{k}={v}"));
            }
        }
        s
    }
}

/// Our H.264 receive capability for one negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H264Local {
    /// Highest level we decode.
    pub max_level: H264Level,
    /// Whether we accept `level-asymmetry-allowed=1`.
    pub level_asymmetry_allowed: bool,
    /// Advertised `max-fs` / `max-mbps` beyond our level, if any.
    pub max_fs: Option<u32>,
    pub max_mbps: Option<u32>,
}

/// What the far end can receive from us on a negotiated H.264 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoLimits {
    pub profile: H264Profile,
    /// The level we may send at.
    pub level: H264Level,
    /// Largest frame, in 16×16 macroblocks: max(level MaxFS, offered max-fs).
    pub max_fs: u32,
    /// Macroblocks per second: max(level MaxMBPS, offered max-mbps).
    pub max_mbps: u32,
    /// Bit/s ceiling: the smallest of `max-br` (× cpbBrVclFactor),
    /// `b=TIAS` and `b=AS`×1000 that was given; `None` if none was.
    pub max_bitrate_bps: Option<u64>,
}

impl VideoLimits {
    /// Largest width or height in pixels a frame may have
    /// (H.264 A.3.1: each side ≤ √(8·MaxFS) macroblocks).
    pub fn max_dimension_px(&self) -> u32 {
        let side = (8 * u64::from(self.max_fs)).isqrt();
        u32::try_from(side * 16).unwrap_or(u32::MAX)
    }

    /// Whether `width`×`height` at `fps` fits the frame-size and
    /// macroblock-rate limits.
    pub fn allows(&self, width: u32, height: u32, fps: u32) -> bool {
        let mbs = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
        mbs <= u64::from(self.max_fs)
            && mbs.saturating_mul(u64::from(fps)) <= u64::from(self.max_mbps)
            && width <= self.max_dimension_px()
            && height <= self.max_dimension_px()
    }
}

/// The result of answering one offered H.264 payload type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H264Answer {
    /// Parameters for our `a=fmtp` (profile echoed, level per §8.2.2).
    pub answer: H264Params,
    /// What we may send to the offerer.
    pub limits: VideoLimits,
}

/// RFC 6184 §8.2.2: the answer keeps the offered profile (profile_idc and
/// profile-iop) and packetization-mode; its level is
/// min(offered level, our max level), unless both sides allow level
/// asymmetry, in which case it is our max level (what we receive) and we
/// send at the offered level.
pub fn answer_h264(offer: &H264Params, local: &H264Local) -> Result<H264Answer, H264Error> {
    let profile = offer.profile()?;
    let offered_level = offer.level()?;
    let asymmetric = offer.level_asymmetry_allowed && local.level_asymmetry_allowed;
    let (recv_level, send_level) = if asymmetric {
        (local.max_level, offered_level)
    } else {
        let l = offered_level.min(local.max_level);
        (l, l)
    };
    let answer = H264Params {
        profile_level_id: offer.profile_level_id.with_level(recv_level),
        packetization_mode: offer.packetization_mode,
        level_asymmetry_allowed: asymmetric,
        max_fs: local.max_fs,
        max_mbps: local.max_mbps,
        ..H264Params::default()
    };
    let lim = send_level.limits();
    let limits = VideoLimits {
        profile,
        level: send_level,
        max_fs: lim.max_fs.max(offer.max_fs.unwrap_or(0)),
        max_mbps: lim.max_mbps.max(offer.max_mbps.unwrap_or(0)),
        max_bitrate_bps: offer
            .max_br
            .map(|br| u64::from(br) * profile.cpb_br_vcl_factor()),
    };
    Ok(H264Answer { answer, limits })
}

/// Limits for a stream whose parameters come from an answer to our offer
/// (`accept_answer`): the answered level and max-fs/max-mbps apply.
pub fn limits_from_answer(answer: &H264Params) -> Result<VideoLimits, H264Error> {
    let profile = answer.profile()?;
    let level = answer.level()?;
    let lim = level.limits();
    Ok(VideoLimits {
        profile,
        level,
        max_fs: lim.max_fs.max(answer.max_fs.unwrap_or(0)),
        max_mbps: lim.max_mbps.max(answer.max_mbps.unwrap_or(0)),
        max_bitrate_bps: answer
            .max_br
            .map(|br| u64::from(br) * profile.cpb_br_vcl_factor()),
    })
}
