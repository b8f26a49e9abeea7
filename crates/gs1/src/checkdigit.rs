//! GS1 check digits (GS1 General Specifications §7.9).

/// The standard GS1 modulo-10 check digit for `digits` (the key without its check digit).
/// Returns `None` if `digits` is empty or contains a non-digit.
pub fn mod10(digits: &str) -> Option<u8> {
    if digits.is_empty() {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = u32::from(c - b'0');
        sum += if i % 2 == 0 { 3 * d } else { d };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether the last digit of `key` is the correct modulo-10 check digit of the digits before it.
pub fn mod10_valid(key: &str) -> bool {
    let Some((body, last)) = key.len().checked_sub(1).map(|n| key.split_at(n)) else {
        return false;
    };
    if body.is_empty() || !last.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    mod10(body) == Some(last.as_bytes()[0] - b'0')
}

/// `digits` followed by its modulo-10 check digit.
pub fn with_mod10(digits: &str) -> Option<String> {
    let c = mod10(digits)?;
    let mut s = String::with_capacity(digits.len() + 1);
    s.push_str(digits);
    s.push((b'0' + c) as char);
    Some(s)
}

const CSET32: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The GS1 check character pair over CSET 82 data (GS1 General Specifications §7.9.5, used by
/// AI 8013 GMN and AI 8010-based schemes): returns the two check characters for `data`, or `None`
/// if `data` has a character outside CSET 82.
pub fn check_pair(data: &str) -> Option<[u8; 2]> {
    const PRIMES: [u32; 25] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97,
    ];
    let n = data.len();
    if n == 0 || n > PRIMES.len() {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, c) in data.bytes().enumerate() {
        let v = crate::cset::cset82_value(c)?;
        sum += u32::from(v) * PRIMES[n - 1 - i];
    }
    let r = sum % 1021;
    Some([CSET32[(r >> 5) as usize], CSET32[(r & 31) as usize]])
}
