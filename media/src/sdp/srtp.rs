//! SDES-SRTP (RFC 4568): suites, keys and the choice of an offered
//! `a=crypto` line. Keys never appear in `Debug` output.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore;

use super::attr::Crypto;
use super::model::{Attribute, MediaDescription};

/// Master key (16 bytes) + master salt (14 bytes) for the AES-CM-128 suites.
pub const KEY_SALT_LEN: usize = 30;

/// Standard alphabet; padding optional on input, never written (30 bytes
/// encode to exactly 40 characters).
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// SRTP crypto suites we support (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    /// The suite name as written in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// Parses a suite name (exact, as RFC 4568 names are case-sensitive).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "AES_CM_128_HMAC_SHA1_80" => Some(SrtpSuite::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(SrtpSuite::AesCm128HmacSha1_32),
            _ => None,
        }
    }
}

/// 30 bytes of master key ‖ master salt. `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey(pub [u8; KEY_SALT_LEN]);

impl SrtpKey {
    /// A fresh random key from the caller's generator.
    pub fn generate(rng: &mut impl RngCore) -> Self {
        let mut k = [0u8; KEY_SALT_LEN];
        rng.fill_bytes(&mut k);
        SrtpKey(k)
    }

    /// Decodes the base64 `key||salt` of an `inline:` parameter; `None`
    /// unless it is exactly 30 bytes.
    pub fn from_base64(s: &str) -> Option<Self> {
        let bytes = B64.decode(s).ok()?;
        Some(SrtpKey(bytes.try_into().ok()?))
    }

    /// The base64 text for an `inline:` parameter (40 characters).
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }
}

impl fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SrtpKey(<redacted>)")
    }
}

/// The negotiated SDES parameters of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpParams {
    pub suite: SrtpSuite,
    /// The `a=crypto` tag both sides used.
    pub tag: u32,
    /// Key we encrypt with (sent in our SDP).
    pub local_key: SrtpKey,
    /// Key the far end encrypts with (from its SDP).
    pub remote_key: SrtpKey,
}

/// A usable offered crypto line: a supported suite, one `inline:` key of
/// 30 bytes, no MKI and no session parameters (UNENCRYPTED_SRTCP, KDR…
/// are not implemented, so lines carrying them are skipped).
pub(crate) fn usable_crypto(c: &Crypto, suites: &[SrtpSuite]) -> Option<(SrtpSuite, SrtpKey)> {
    let suite = SrtpSuite::from_name(&c.suite).filter(|s| suites.contains(s))?;
    if c.session_params.is_some() {
        return None;
    }
    let key = c.inline_key().filter(|k| k.mki.is_none())?;
    Some((suite, SrtpKey::from_base64(key.key_salt)?))
}

/// The first usable crypto line of an offer, in offer order.
pub(crate) fn choose_offered(
    m: &MediaDescription,
    suites: &[SrtpSuite],
) -> Option<(u32, SrtpSuite, SrtpKey)> {
    m.attributes.iter().find_map(|a| match a {
        Attribute::Crypto(c) => usable_crypto(c, suites).map(|(s, k)| (c.tag, s, k)),
        _ => None,
    })
}

/// Whether the section carries any `a=crypto` line.
pub(crate) fn has_crypto(m: &MediaDescription) -> bool {
    m.attributes
        .iter()
        .any(|a| matches!(a, Attribute::Crypto(_)))
}

/// Our `a=crypto` attribute for a tag, suite and key.
pub(crate) fn crypto_attribute(tag: u32, suite: SrtpSuite, key: &SrtpKey) -> Attribute {
    Attribute::Crypto(Crypto {
        tag,
        suite: suite.name().to_owned(),
        key_params: format!("inline:{}", key.to_base64()),
        session_params: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trip_and_length() {
        let k = SrtpKey([7; KEY_SALT_LEN]);
        let b = k.to_base64();
        assert_eq!(b.len(), 40);
        assert_eq!(SrtpKey::from_base64(&b), Some(k));
        assert_eq!(SrtpKey::from_base64("AAAA"), None);
        assert_eq!(SrtpKey::from_base64("not base64!"), None);
        assert_eq!(
            format!("{:?}", SrtpKey([1; KEY_SALT_LEN])),
            "SrtpKey(<redacted>)"
        );
    }
}
