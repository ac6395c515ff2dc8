//! Video teleconference IDs ("VTC Conference ID", Graph's `videoTeleconferenceId`).
//!
//! Nine random digits followed by a Damm check digit: ten digits in all. Random, so IDs are
//! neither sequential nor guessable (10^9 per tenant); the Damm digit catches every
//! single-digit typo and every swap of two adjacent digits, so a mistyped ID is refused
//! before any lookup.

use rand::Rng;

/// Number of random digits before the check digit.
pub const RANDOM_DIGITS: usize = 9;
/// Total length of an ID.
pub const LEN: usize = RANDOM_DIGITS + 1;

/// The Damm quasigroup of order 10 (weakly totally anti-symmetric).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm_interim(digits: &str) -> Option<u8> {
    let mut interim = 0u8;
    for c in digits.chars() {
        let d = c.to_digit(10)? as usize;
        interim = DAMM[interim as usize][d];
    }
    Some(interim)
}

/// The check digit for `digits` (which must be all ASCII digits).
pub fn check_digit(digits: &str) -> Option<char> {
    damm_interim(digits).and_then(|d| char::from_digit(u32::from(d), 10))
}

/// Why a string is not a valid VTC conference ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    NotDigits,
    Length,
    CheckDigit,
}

impl Invalid {
    pub fn message(self) -> &'static str {
        match self {
            Invalid::NotDigits => "a VTC conference ID has digits only",
            Invalid::Length => "a VTC conference ID has 10 digits",
            Invalid::CheckDigit => "the check digit is wrong (mistyped ID)",
        }
    }
}

/// Validates the form and the check digit. No lookup.
pub fn validate(id: &str) -> Result<(), Invalid> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::NotDigits);
    }
    if id.len() != LEN {
        return Err(Invalid::Length);
    }
    match damm_interim(id) {
        Some(0) => Ok(()),
        _ => Err(Invalid::CheckDigit),
    }
}

/// A fresh random ID. Uniqueness per tenant is the store's job (a unique constraint, retry).
pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut s = String::with_capacity(LEN);
    for _ in 0..RANDOM_DIGITS {
        let d: u32 = rng.gen_range(0..10);
        s.push(char::from_digit(d, 10).unwrap_or('0'));
    }
    let c = check_digit(&s).unwrap_or('0');
    s.push(c);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn known_damm_value() {
        // Wikipedia's worked example: 572 → check digit 4.
        assert_eq!(check_digit("572"), Some('4'));
    }

    #[test]
    fn generated_ids_validate_and_differ() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = generate(&mut rng);
        let b = generate(&mut rng);
        assert_eq!(a.len(), LEN);
        assert_eq!(validate(&a), Ok(()));
        assert_eq!(validate(&b), Ok(()));
        assert_ne!(a, b);
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..50 {
            let id = generate(&mut rng);
            for pos in 0..LEN {
                for d in b'0'..=b'9' {
                    let mut typo = id.clone().into_bytes();
                    if typo[pos] == d {
                        continue;
                    }
                    typo[pos] = d;
                    let typo = String::from_utf8(typo).expect("ascii");
                    assert_eq!(validate(&typo), Err(Invalid::CheckDigit), "{id} -> {typo}");
                }
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_caught() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for _ in 0..200 {
            let id = generate(&mut rng);
            let b = id.as_bytes();
            for i in 0..LEN - 1 {
                if b[i] == b[i + 1] {
                    continue;
                }
                let mut s = b.to_vec();
                s.swap(i, i + 1);
                let s = String::from_utf8(s).expect("ascii");
                assert_eq!(validate(&s), Err(Invalid::CheckDigit));
            }
        }
    }

    #[test]
    fn form_errors() {
        assert_eq!(validate(""), Err(Invalid::NotDigits));
        assert_eq!(validate("12a4567890"), Err(Invalid::NotDigits));
        assert_eq!(validate("017920684"), Err(Invalid::Length));
        assert_eq!(validate("٠١٢٣٤٥٦٧٨٩"), Err(Invalid::NotDigits));
    }
}
