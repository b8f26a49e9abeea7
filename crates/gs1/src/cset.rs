//! GS1 character sets (GS1 General Specifications §7.11).

/// CSET 82: the GS1 AI encodable character set 82, in the order of its values (0..=81).
pub const CSET82: &[u8; 82] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Whether `c` is in CSET 82.
pub fn is_cset82(c: u8) -> bool {
    cset82_value(c).is_some()
}

/// The value (position) of `c` in CSET 82.
pub fn cset82_value(c: u8) -> Option<u8> {
    CSET82.iter().position(|&x| x == c).map(|p| p as u8)
}

/// Whether `c` is in CSET 39 (`# - / 0-9 A-Z`).
pub fn is_cset39(c: u8) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase() || matches!(c, b'#' | b'-' | b'/')
}

/// Whether `c` is in CSET 64 (the file-safe / URI-safe base64 alphabet `A-Z a-z 0-9 - _` and `=`
/// as padding).
pub fn is_cset64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=')
}

/// The character set a GS1 component uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cset {
    /// Digits only (`N` in the syntax dictionary).
    Numeric,
    /// CSET 82 (`X`).
    Cset82,
    /// CSET 39 (`Y`).
    Cset39,
    /// CSET 64 (`Z`).
    Cset64,
}

impl Cset {
    /// Whether `c` belongs to this set.
    pub fn contains(self, c: u8) -> bool {
        match self {
            Cset::Numeric => c.is_ascii_digit(),
            Cset::Cset82 => is_cset82(c),
            Cset::Cset39 => is_cset39(c),
            Cset::Cset64 => is_cset64(c),
        }
    }

    /// Position of the first character of `s` outside this set.
    pub fn first_invalid(self, s: &str) -> Option<usize> {
        s.bytes().position(|c| !self.contains(c))
    }
}
