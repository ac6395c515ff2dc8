//! AES-CM-128 (RFC 3711 §4.1.1), the AES-CM key derivation with a key
//! derivation rate of 0 (§4.3) and the HMAC-SHA1 session state (§4.2.1).

use aes::Aes128;
use aes::cipher::{BlockEncrypt, InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
use ctr::CtrCore;
use ctr::cipher::generic_array::GenericArray;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::SrtpError;
use crate::sdp::srtp::SrtpKey;

type HmacSha1 = Hmac<Sha1>;
type AesCm = StreamCipherCoreWrapper<CtrCore<Aes128, ctr::flavors::Ctr128BE>>;

/// Master (and session) salt length: 112 bits.
pub(crate) const SALT_LEN: usize = 14;
/// The full HMAC-SHA1 output; tags are its leftmost 10 or 4 bytes.
pub(crate) const MAC_LEN: usize = 20;
/// The most keystream one IV may produce: 2^16 blocks, as only the low 16
/// bits of the IV are the block counter.
const MAX_KEYSTREAM_LEN: usize = 16 << 16;

/// Labels of §4.3.1 (SRTP) and §4.3.2 (SRTCP).
#[derive(Clone, Copy)]
pub(crate) struct Labels {
    pub(crate) cipher: u8,
    pub(crate) auth: u8,
    pub(crate) salt: u8,
}

pub(crate) const SRTP_LABELS: Labels = Labels {
    cipher: 0,
    auth: 1,
    salt: 2,
};
pub(crate) const SRTCP_LABELS: Labels = Labels {
    cipher: 3,
    auth: 4,
    salt: 5,
};

/// XORs the AES-CM keystream that starts at counter block `iv` into `buf`.
pub(crate) fn aes_cm_xor(cipher: &Aes128, iv: &[u8; 16], buf: &mut [u8]) -> Result<(), SrtpError> {
    if buf.len() > MAX_KEYSTREAM_LEN {
        return Err(SrtpError::TooLong);
    }
    let core = CtrCore::<Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(
        cipher.clone(),
        GenericArray::from_slice(iv),
    );
    AesCm::from_core(core)
        .try_apply_keystream(buf)
        .map_err(|_| SrtpError::TooLong)
}

/// The packet IV of §4.1.1: `(k_s * 2^16) ^ (SSRC * 2^64) ^ (i * 2^16)`,
/// `i` being the 48-bit SRTP or the 31-bit SRTCP index.
pub(crate) fn packet_iv(salt: &[u8; SALT_LEN], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..SALT_LEN].copy_from_slice(salt);
    for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *b ^= s;
    }
    for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *b ^= s;
    }
    iv
}

/// `PRF_n(k_master, (key_id XOR master_salt) * 2^16)` with `r = 0`: the
/// first 32 bytes of the keystream; callers take the length they need.
fn derive(master: &Aes128, master_salt: &[u8; SALT_LEN], label: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, counter) in out.chunks_exact_mut(16).zip(0u8..) {
        let mut block = [0u8; 16];
        block[..SALT_LEN].copy_from_slice(master_salt);
        block[7] ^= label;
        block[15] = counter;
        let mut block = GenericArray::from(block);
        master.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    out
}

/// The session keys of one direction and one of SRTP or SRTCP.
pub(crate) struct SessionKeys {
    cipher: Aes128,
    salt: [u8; SALT_LEN],
    /// Keyed once; cloned for each packet.
    mac: HmacSha1,
}

impl SessionKeys {
    pub(crate) fn derive(key: &SrtpKey, labels: Labels) -> Self {
        let mut master_key = [0u8; 16];
        let mut master_salt = [0u8; SALT_LEN];
        master_key.copy_from_slice(&key.0[..16]);
        master_salt.copy_from_slice(&key.0[16..]);
        let master = Aes128::new(&GenericArray::from(master_key));

        let mut cipher_key = [0u8; 16];
        cipher_key.copy_from_slice(&derive(&master, &master_salt, labels.cipher)[..16]);
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&derive(&master, &master_salt, labels.salt)[..SALT_LEN]);
        // HMAC zero-pads a short key to the 64-byte block, so keying with the
        // padded 160-bit auth key is keying with the auth key.
        let mut auth_key = [0u8; 64];
        auth_key[..MAC_LEN].copy_from_slice(&derive(&master, &master_salt, labels.auth)[..MAC_LEN]);
        let mac = <HmacSha1 as KeyInit>::new(GenericArray::from_slice(&auth_key));

        SessionKeys {
            cipher: Aes128::new(&GenericArray::from(cipher_key)),
            salt,
            mac,
        }
    }

    /// Encrypts or decrypts `buf` in place for a packet of `ssrc` at `index`.
    pub(crate) fn xor(&self, ssrc: u32, index: u64, buf: &mut [u8]) -> Result<(), SrtpError> {
        aes_cm_xor(&self.cipher, &packet_iv(&self.salt, ssrc, index), buf)
    }

    /// HMAC-SHA1 over the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; MAC_LEN] {
        let mut mac = self.mac.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of a (truncated) tag over `parts`.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> Result<(), SrtpError> {
        let mut mac = self.mac.clone();
        for p in parts {
            mac.update(p);
        }
        mac.verify_truncated_left(tag)
            .map_err(|_| SrtpError::AuthFailed)
    }

    #[cfg(test)]
    fn raw(key: &SrtpKey, labels: Labels) -> ([u8; 16], [u8; SALT_LEN], [u8; MAC_LEN]) {
        let mut master_key = [0u8; 16];
        let mut master_salt = [0u8; SALT_LEN];
        master_key.copy_from_slice(&key.0[..16]);
        master_salt.copy_from_slice(&key.0[16..]);
        let master = Aes128::new(&GenericArray::from(master_key));
        let mut k = [0u8; 16];
        let mut s = [0u8; SALT_LEN];
        let mut a = [0u8; MAC_LEN];
        k.copy_from_slice(&derive(&master, &master_salt, labels.cipher)[..16]);
        s.copy_from_slice(&derive(&master, &master_salt, labels.salt)[..SALT_LEN]);
        a.copy_from_slice(&derive(&master, &master_salt, labels.auth)[..MAC_LEN]);
        (k, s, a)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 3711 Appendix B.2: AES-CM keystream segments.
    #[test]
    fn rfc3711_b2_keystream() {
        let key: [u8; 16] = hex("2B7E151628AED2A6ABF7158809CF4F3C").try_into().unwrap();
        let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").try_into().unwrap();
        let cipher = Aes128::new(&GenericArray::from(key));
        let mut ks = vec![0u8; 16 * 0xff02];
        aes_cm_xor(&cipher, &iv, &mut ks).unwrap();
        let block = |i: usize| ks[16 * i..16 * (i + 1)].to_vec();
        assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
        assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
        assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
        assert_eq!(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
        assert_eq!(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
        assert_eq!(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
    }

    /// RFC 3711 Appendix B.3: session keys from the master key and salt.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let mut k = [0u8; 30];
        k[..16].copy_from_slice(&hex("E1F97A0D3E018BE0D64FA32C06DE4139"));
        k[16..].copy_from_slice(&hex("0EC675AD498AFEEBB6960B3AABE6"));
        let (cipher, salt, auth) = SessionKeys::raw(&SrtpKey(k), SRTP_LABELS);
        assert_eq!(cipher.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        assert_eq!(
            auth.to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
        );
    }

    #[test]
    fn keystream_length_is_bounded() {
        let cipher = Aes128::new(&GenericArray::from([0u8; 16]));
        let mut big = vec![0u8; MAX_KEYSTREAM_LEN + 1];
        assert_eq!(
            aes_cm_xor(&cipher, &[0; 16], &mut big),
            Err(SrtpError::TooLong)
        );
    }

    #[test]
    fn iv_layout() {
        let salt = [0u8; SALT_LEN];
        let iv = packet_iv(&salt, 0x0102_0304, 0x0a0b_0c0d_0e0f);
        assert_eq!(
            iv,
            [
                0, 0, 0, 0, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0, 0
            ]
        );
    }
}
