//! China's Unified Social Credit Code (统一社会信用代码, GB 32100-2015): the 18-character
//! organisation identifier, beside the GLN.
//!
//! Layout: registration authority (1), organisation category (1), administrative division code
//! (6 digits), organisation code (9), check character (1). Characters come from
//! `0-9 A-H J-N P-R T U W-Y` (no I, O, S, V, Z), valued 0..=30; the check character is
//! `31 - (Σ value(i) · 3^i mod 31) mod 31` over the first 17 characters (i from 0).

use crate::error::Gs1Error;
use std::fmt;
use std::str::FromStr;

/// The 31 characters of the code, in value order.
pub const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Value of a code character.
pub fn uscc_value(c: u8) -> Option<u8> {
    USCC_CHARSET.iter().position(|&x| x == c).map(|p| p as u8)
}

/// The check character for the first 17 characters.
pub fn uscc_check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum: u32 = 0;
    let mut w: u32 = 1;
    for &c in first17 {
        sum += u32::from(uscc_value(c)?) * w;
        w = w * 3 % 31;
    }
    Some(USCC_CHARSET[((31 - sum % 31) % 31) as usize])
}

/// A validated Unified Social Credit Code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Parses an 18-character code (upper case) and checks its check character.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        const F: &str = "Unified Social Credit Code";
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(Gs1Error::invalid(F, "must be 18 characters"));
        }
        if let Some(p) = b.iter().position(|&c| uscc_value(c).is_none()) {
            return Err(Gs1Error::invalid(
                F,
                format!(
                    "character at position {} is not in 0-9 A-Z without I, O, S, V, Z",
                    p + 1
                ),
            ));
        }
        if let Some(p) = b[2..8].iter().position(|c| !c.is_ascii_digit()) {
            return Err(Gs1Error::invalid(
                F,
                format!(
                    "administrative division code (positions 3-8) has a non-digit at {}",
                    p + 3
                ),
            ));
        }
        let expected = uscc_check_char(&b[..17]).unwrap_or(b'?');
        if b[17] != expected {
            return Err(Gs1Error::CheckDigit {
                field: F,
                found: b[17] as char,
                expected: expected as char,
            });
        }
        Ok(Uscc(s.to_string()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Registration authority code (position 1).
    pub fn registration_authority(&self) -> char {
        self.0.as_bytes()[0] as char
    }

    /// Organisation category code (position 2).
    pub fn category(&self) -> char {
        self.0.as_bytes()[1] as char
    }

    /// Administrative division code (positions 3-8, GB/T 2260).
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }

    /// Organisation code (positions 9-17, GB 11714).
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Gs1Error> {
        Self::parse(s)
    }
}
