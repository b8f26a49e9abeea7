//! Identifier arithmetic the generator needs: GS1 check digits, the Unified Social Credit Code
//! check character, EPC URIs and timestamps. Small, pure and self-contained so that the demo does
//! not depend on the identifier crate's progress.

/// GS1 mod-10 check digit for a string of ASCII digits (the key without its check digit).
///
/// Weights alternate 3, 1, 3, … starting from the rightmost digit.
pub fn gs1_check_digit(digits: &str) -> u8 {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        debug_assert!(b.is_ascii_digit());
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 { 3 * d } else { d };
    }
    ((10 - sum % 10) % 10) as u8
}

/// `digits` followed by its GS1 check digit.
pub fn with_check_digit(digits: &str) -> String {
    let mut s = String::with_capacity(digits.len() + 1);
    s.push_str(digits);
    s.push(char::from(b'0' + gs1_check_digit(digits)));
    s
}

/// The 31 characters of GB 32100-2015 (no I, O, S, V, Z).
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Check character of a Unified Social Credit Code (GB 32100-2015) for its first 17 characters.
/// Returns `None` if a character is outside the code's character set or the length is not 17.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in first17.bytes().zip(USCC_WEIGHTS) {
        let v = USCC_CHARSET.iter().position(|&c| c == b)? as u32;
        sum += v * w;
    }
    let c = (31 - sum % 31) % 31;
    Some(char::from(USCC_CHARSET[c as usize]))
}

/// Check character of a GB 11714 organisation code for its first 8 digits.
fn org_code_check_char(first8: &str) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first8
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from(b'0' + c as u8),
    }
}

/// A valid Unified Social Credit Code for an enterprise (`9` registration authority, `1`
/// enterprise) in the administrative division `region` (6 digits) with the organisation number
/// `org_number` (8 digits, the GB 11714 check character is computed).
pub fn uscc(region: &str, org_number: u32) -> String {
    debug_assert_eq!(region.len(), 6);
    let org8 = format!("{:08}", org_number % 100_000_000);
    let mut s = String::with_capacity(18);
    s.push_str("91");
    s.push_str(region);
    s.push_str(&org8);
    s.push(org_code_check_char(&org8));
    let check = uscc_check_char(&s).expect("built from the USCC character set");
    s.push(check);
    s
}

/// `urn:epc:id:sgln:{prefix}.{location_ref}.0`: prefix and location reference together are 12 digits.
pub fn sgln(prefix: &str, location_ref: &str) -> String {
    format!("urn:epc:id:sgln:{prefix}.{location_ref}.0")
}

/// The 13-digit GLN for a company prefix and a location reference.
pub fn gln(prefix: &str, location_ref: &str) -> String {
    with_check_digit(&format!("{prefix}{location_ref}"))
}

/// The 14-digit GTIN for indicator digit + item reference (`indicator_item`, 13 - prefix length digits).
pub fn gtin14(prefix: &str, indicator_item: &str) -> String {
    let (indicator, item) = indicator_item.split_at(1);
    with_check_digit(&format!("{indicator}{prefix}{item}"))
}

/// The 18-digit SSCC for an extension digit + serial reference (`ext_serial`, 17 - prefix length digits).
pub fn sscc18(prefix: &str, ext_serial: &str) -> String {
    let (ext, serial) = ext_serial.split_at(1);
    with_check_digit(&format!("{ext}{prefix}{serial}"))
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Milliseconds since the Unix epoch as a calendar date `YYYY-MM-DD` (UTC).
pub fn date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `(year, month, day)` of the day `days` after 1970-01-01 (proleptic Gregorian; H. Hinnant's
/// algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_check_digits_of_known_keys() {
        // GS1 General Specifications examples.
        assert_eq!(with_check_digit("061414112345"), "0614141123452");
        assert_eq!(with_check_digit("10614141234567890"), "106141412345678908");
    }

    #[test]
    fn uscc_of_a_published_code() {
        // 91350100M000100Y43 is the worked example commonly cited for GB 32100-2015.
        assert_eq!(uscc_check_char("91350100M000100Y4"), Some('3'));
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(date(1_767_225_600_000 - 1), "2025-12-31");
    }
}
