//! Component linters of the GS1 Barcode Syntax Dictionary (the reference procedures of the GS1
//! Barcode Syntax Tests), over raw bytes.
//!
//! Each linter returns `Ok(())` or the GS1 error code with the offending span (for error markup).
//! Linters that need external code lists (ISO 3166, ISO 4217, media and package types) or the GCP
//! prefix data source are reported as [`LintOutcome::Unsupported`] by [`lint`].

use crate::checkdigit;
use crate::cset;

/// A linter finding: the GS1 error code and the byte span it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    /// The GS1 error code, e.g. `GS1_LINTER_INCORRECT_CHECK_DIGIT`.
    pub code: &'static str,
    /// Start of the offending span.
    pub pos: usize,
    /// Length of the offending span.
    pub len: usize,
}

/// Result of running a named linter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LintOutcome {
    /// The data passed.
    Ok,
    /// The data failed.
    Err(LintError),
    /// This linter needs data we do not carry (code lists, the GCP prefix data source).
    Unsupported(&'static str),
}

type R = Result<(), LintError>;

fn err(code: &'static str, pos: usize, len: usize) -> R {
    Err(LintError { code, pos, len })
}

fn digits(d: &[u8]) -> R {
    match d.iter().position(|c| !c.is_ascii_digit()) {
        Some(p) => err("GS1_LINTER_NON_DIGIT_CHARACTER", p, 1),
        None => Ok(()),
    }
}

/// Why a linter is not supported.
pub fn unsupported_reason(name: &str) -> Option<&'static str> {
    Some(match name {
        "iso3166" | "iso3166999" | "iso3166alpha2" => "needs the ISO 3166 code list",
        "iso4217" => "needs the ISO 4217 code list",
        "mediatype" => "needs the GS1 media type code list",
        "packagetype" => "needs the UN/ECE Rec 21 package type code list",
        "gcppos1" | "gcppos2" => "needs the GS1 Company Prefix data source",
        "couponcode" | "couponposoffer" => "North American coupon linters are not implemented",
        _ => return None,
    })
}

/// Runs the linter called `name` (as in the syntax dictionary) on `data`.
pub fn lint(name: &str, data: &[u8]) -> LintOutcome {
    if let Some(why) = unsupported_reason(name) {
        return LintOutcome::Unsupported(why);
    }
    let r = match name {
        "csum" => csum(data),
        "csumalpha" => csumalpha(data),
        "cset82" => set(data, cset::is_cset82, "GS1_LINTER_INVALID_CSET82_CHARACTER"),
        "cset39" => set(data, cset::is_cset39, "GS1_LINTER_INVALID_CSET39_CHARACTER"),
        "cset64" => cset64(data),
        "csetnumeric" => digits(data),
        "pcenc" => pcenc(data),
        "hasnondigit" => {
            if data.iter().all(u8::is_ascii_digit) {
                err("GS1_LINTER_REQUIRES_NON_DIGIT_CHARACTER", 0, data.len())
            } else {
                Ok(())
            }
        }
        "nonzero" => digits(data).and_then(|_| {
            if data.iter().all(|&c| c == b'0') {
                err("GS1_LINTER_ILLEGAL_ZERO_VALUE", 0, data.len())
            } else {
                Ok(())
            }
        }),
        "zero" => {
            if data.is_empty() || data.iter().any(|&c| c != b'0') {
                err("GS1_LINTER_NOT_ZERO", 0, data.len())
            } else {
                Ok(())
            }
        }
        "nozeroprefix" => digits(data).and_then(|_| {
            if data.first() == Some(&b'0') {
                err("GS1_LINTER_ILLEGAL_ZERO_PREFIX", 0, 1)
            } else {
                Ok(())
            }
        }),
        "yesno" => one_of(data, b"01", "GS1_LINTER_NOT_ZERO_OR_ONE"),
        "iso5218" => one_of(data, b"0129", "GS1_LINTER_INVALID_BIOLOGICAL_SEX_CODE"),
        "winding" => one_of(data, b"019", "GS1_LINTER_INVALID_WINDING_DIRECTION"),
        "importeridx" => {
            if data.len() != 1 {
                err(
                    "GS1_LINTER_IMPORTER_IDX_MUST_BE_ONE_CHARACTER",
                    0,
                    data.len(),
                )
            } else if data[0].is_ascii_alphanumeric() || matches!(data[0], b'-' | b'_') {
                Ok(())
            } else {
                err("GS1_LINTER_INVALID_IMPORT_IDX_CHARACTER", 0, 1)
            }
        }
        "hyphen" => {
            if data.is_empty() || data.iter().any(|&c| c != b'-') {
                err("GS1_LINTER_NOT_HYPHEN", 0, data.len())
            } else {
                Ok(())
            }
        }
        "hh" => two(
            data,
            24,
            ("GS1_LINTER_HOUR_TOO_SHORT", "GS1_LINTER_HOUR_TOO_LONG"),
            "GS1_LINTER_ILLEGAL_HOUR",
        ),
        "mi" => two(
            data,
            60,
            ("GS1_LINTER_MINUTE_TOO_SHORT", "GS1_LINTER_MINUTE_TOO_LONG"),
            "GS1_LINTER_ILLEGAL_MINUTE",
        ),
        "ss" => two(
            data,
            60,
            ("GS1_LINTER_SECOND_TOO_SHORT", "GS1_LINTER_SECOND_TOO_LONG"),
            "GS1_LINTER_ILLEGAL_SECOND",
        ),
        "hhmi" => hhmi(data),
        "yymmdd" => date(data, false, false),
        "yymmd0" => date(data, false, true),
        "yyyymmdd" => date(data, true, false),
        "yyyymmd0" => date(data, true, true),
        "pieceoftotal" => pieceoftotal(data),
        "posinseqslash" => posinseqslash(data),
        "latitude" => coord(data, 1_800_000_000, "LATITUDE"),
        "longitude" => coord(data, 3_600_000_000, "LONGITUDE"),
        "iban" => iban(data),
        _ => return LintOutcome::Unsupported("unknown linter"),
    };
    match r {
        Ok(()) => LintOutcome::Ok,
        Err(e) => LintOutcome::Err(e),
    }
}

fn set(d: &[u8], ok: fn(u8) -> bool, code: &'static str) -> R {
    match d.iter().position(|&c| !ok(c)) {
        Some(p) => err(code, p, 1),
        None => Ok(()),
    }
}

fn one_of(d: &[u8], allowed: &[u8], code: &'static str) -> R {
    if d.len() == 1 && allowed.contains(&d[0]) {
        Ok(())
    } else {
        err(code, 0, d.len())
    }
}

fn csum(d: &[u8]) -> R {
    if d.is_empty() {
        return err("GS1_LINTER_TOO_SHORT_FOR_CHECK_DIGIT", 0, 0);
    }
    digits(d)?;
    let s = std::str::from_utf8(d).unwrap_or("");
    if checkdigit::mod10_valid(s) || (d.len() == 1 && d[0] == b'0') {
        Ok(())
    } else {
        err("GS1_LINTER_INCORRECT_CHECK_DIGIT", d.len() - 1, 1)
    }
}

fn csumalpha(d: &[u8]) -> R {
    if d.len() < 2 {
        return err("GS1_LINTER_TOO_SHORT_FOR_CHECK_PAIR", 0, d.len());
    }
    let n = d.len() - 2;
    set(
        &d[..n],
        cset::is_cset82,
        "GS1_LINTER_INVALID_CSET82_CHARACTER",
    )?;
    let body = std::str::from_utf8(&d[..n]).unwrap_or("");
    let expected = if n == 0 {
        Some(*b"22")
    } else {
        checkdigit::check_pair(body)
    };
    match expected {
        Some(p) if p == [d[n], d[n + 1]] => Ok(()),
        Some(_) => err("GS1_LINTER_INCORRECT_CHECK_PAIR", n, 2),
        None => err(
            "GS1_LINTER_TOO_LONG_FOR_CHECK_PAIR_IMPLEMENTATION",
            0,
            d.len(),
        ),
    }
}

fn cset64(d: &[u8]) -> R {
    let n = d.iter().rposition(|&c| c != b'=').map_or(0, |p| p + 1);
    set(
        &d[..n],
        |c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_',
        "GS1_LINTER_INVALID_CSET64_CHARACTER",
    )?;
    let pad = d.len() - n;
    if pad > 0 && (n == 0 || pad > 2 || !d.len().is_multiple_of(3)) {
        return err("GS1_LINTER_INVALID_CSET64_PADDING", n, pad);
    }
    Ok(())
}

fn pcenc(d: &[u8]) -> R {
    let mut i = 0;
    while i < d.len() {
        if d[i] == b'%' {
            let ok = d.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && d.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return err(
                    "GS1_LINTER_INVALID_PERCENT_SEQUENCE",
                    i,
                    (d.len() - i).min(3),
                );
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn num(d: &[u8]) -> u64 {
    d.iter().fold(0u64, |a, &c| {
        a.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    })
}

fn two(
    d: &[u8],
    limit: u64,
    (short, long): (&'static str, &'static str),
    illegal: &'static str,
) -> R {
    if d.len() < 2 {
        return err(short, 0, d.len());
    }
    if d.len() > 2 {
        return err(long, 0, d.len());
    }
    digits(d)?;
    if num(d) >= limit {
        err(illegal, 0, 2)
    } else {
        Ok(())
    }
}

fn hhmi(d: &[u8]) -> R {
    if d.len() < 4 {
        return err("GS1_LINTER_HOUR_WITH_MINUTE_TOO_SHORT", 0, d.len());
    }
    if d.len() > 4 {
        return err("GS1_LINTER_HOUR_WITH_MINUTE_TOO_LONG", 0, d.len());
    }
    digits(d)?;
    if num(&d[..2]) > 23 {
        return err("GS1_LINTER_ILLEGAL_HOUR", 0, 2);
    }
    if num(&d[2..]) > 59 {
        return err("GS1_LINTER_ILLEGAL_MINUTE", 2, 2);
    }
    Ok(())
}

fn date(d: &[u8], full_year: bool, day_zero_ok: bool) -> R {
    let n = if full_year { 8 } else { 6 };
    if d.len() < n {
        return err("GS1_LINTER_DATE_TOO_SHORT", 0, d.len());
    }
    if d.len() > n {
        return err("GS1_LINTER_DATE_TOO_LONG", 0, d.len());
    }
    digits(d)?;
    let y = n - 4;
    let year = num(&d[..y]);
    let month = num(&d[y..y + 2]);
    let day = num(&d[y + 2..]);
    if !(1..=12).contains(&month) {
        return err("GS1_LINTER_ILLEGAL_MONTH", y, 2);
    }
    let leap = if full_year {
        (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
    } else {
        // Two-digit years fall in a 100-year window around the present: within it every year
        // divisible by four is a leap year (2000 included).
        year.is_multiple_of(4)
    };
    let max = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > max || (day == 0 && !day_zero_ok) {
        return err("GS1_LINTER_ILLEGAL_DAY", y + 2, 2);
    }
    Ok(())
}

fn pieceoftotal(d: &[u8]) -> R {
    if d.is_empty() || !d.len().is_multiple_of(2) {
        return err("GS1_LINTER_INVALID_LENGTH_FOR_PIECE_OF_TOTAL", 0, d.len());
    }
    digits(d)?;
    let h = d.len() / 2;
    let (piece, total) = (num(&d[..h]), num(&d[h..]));
    if piece == 0 {
        return err("GS1_LINTER_ZERO_PIECE_NUMBER", 0, h);
    }
    if total == 0 {
        return err("GS1_LINTER_ZERO_TOTAL_PIECES", h, h);
    }
    if piece > total {
        return err("GS1_LINTER_PIECE_NUMBER_EXCEEDS_TOTAL", 0, d.len());
    }
    Ok(())
}

fn posinseqslash(d: &[u8]) -> R {
    let malformed = || err("GS1_LINTER_POSITION_IN_SEQUENCE_MALFORMED", 0, d.len());
    let Some(slash) = d.iter().position(|&c| c == b'/') else {
        return malformed();
    };
    let (a, b) = (&d[..slash], &d[slash + 1..]);
    let is_num = |x: &[u8]| !x.is_empty() && x.iter().all(u8::is_ascii_digit);
    if !is_num(a) || !is_num(b) {
        return malformed();
    }
    if a[0] == b'0' {
        return err("GS1_LINTER_ILLEGAL_ZERO_PREFIX", 0, a.len());
    }
    if b[0] == b'0' {
        return err("GS1_LINTER_ILLEGAL_ZERO_PREFIX", slash + 1, b.len());
    }
    if num(a) > num(b) {
        return err("GS1_LINTER_POSITION_EXCEEDS_END", 0, d.len());
    }
    Ok(())
}

fn coord(d: &[u8], max: u64, what: &'static str) -> R {
    if d.len() != 10 {
        let code = if what == "LATITUDE" {
            "GS1_LINTER_LATITUDE_INVALID_LENGTH"
        } else {
            "GS1_LINTER_LONGITUDE_INVALID_LENGTH"
        };
        return err(code, 0, d.len());
    }
    digits(d)?;
    if num(d) > max {
        let code = if what == "LATITUDE" {
            "GS1_LINTER_INVALID_LATITUDE"
        } else {
            "GS1_LINTER_INVALID_LONGITUDE"
        };
        return err(code, 0, 10);
    }
    Ok(())
}

fn iban(d: &[u8]) -> R {
    if d.len() < 5 {
        return err("GS1_LINTER_IBAN_TOO_SHORT", 0, d.len());
    }
    if d.len() > 34 {
        return err("GS1_LINTER_IBAN_TOO_LONG", 0, d.len());
    }
    for (i, &c) in d.iter().enumerate() {
        let ok = match i {
            0 | 1 => c.is_ascii_uppercase(),
            2 | 3 => c.is_ascii_digit(),
            _ => c.is_ascii_uppercase() || c.is_ascii_digit(),
        };
        if !ok {
            return err("GS1_LINTER_INVALID_IBAN_CHARACTER", i, 1);
        }
    }
    // ISO 3166-1 user-assigned codes (AA, QM-QZ, XA-XZ, ZZ) are never IBAN countries.
    let cc = (d[0], d[1]);
    let user_assigned =
        matches!(cc, (b'A', b'A') | (b'Z', b'Z') | (b'X', _)) || (cc.0 == b'Q' && cc.1 >= b'M');
    if user_assigned {
        return err("GS1_LINTER_ILLEGAL_IBAN_COUNTRY_CODE", 0, 2);
    }
    // ISO 13616 mod 97-10 over BBAN + country + check digits, letters as 10..35.
    let mut rem: u32 = 0;
    for &c in d[4..].iter().chain(&d[..4]) {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    if rem != 1 {
        err("GS1_LINTER_INCORRECT_IBAN_CHECKSUM", 2, 2)
    } else {
        Ok(())
    }
}
