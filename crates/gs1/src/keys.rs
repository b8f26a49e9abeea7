//! GS1 identification keys as validated newtypes: a value of these types always has the right
//! length, character set and check digit.

use crate::checkdigit;
use crate::cset::Cset;
use crate::error::Gs1Error;
use std::fmt;
use std::str::FromStr;

fn check_digits(field: &'static str, s: &str, lens: &[usize]) -> Result<(), Gs1Error> {
    if s.len() > 64 {
        return Err(Gs1Error::TooLong { field, max: 64 });
    }
    if let Some(p) = s.bytes().position(|c| !c.is_ascii_digit()) {
        return Err(Gs1Error::invalid(
            field,
            format!("non-digit at position {}", p + 1),
        ));
    }
    if !lens.contains(&s.len()) {
        let l: Vec<String> = lens.iter().map(|n| n.to_string()).collect();
        return Err(Gs1Error::invalid(
            field,
            format!("must be {} digits", l.join(" or ")),
        ));
    }
    Ok(())
}

fn check_mod10(field: &'static str, s: &str) -> Result<(), Gs1Error> {
    let (body, last) = s.split_at(s.len() - 1);
    let expected = checkdigit::mod10(body).unwrap_or(0);
    let found = last.as_bytes()[0];
    if found - b'0' != expected {
        return Err(Gs1Error::CheckDigit {
            field,
            found: found as char,
            expected: (b'0' + expected) as char,
        });
    }
    Ok(())
}

fn check_text(field: &'static str, s: &str, cset: Cset, max: usize) -> Result<(), Gs1Error> {
    if s.is_empty() || s.len() > max {
        return Err(Gs1Error::invalid(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if let Some(p) = cset.first_invalid(s) {
        return Err(Gs1Error::invalid(
            field,
            format!(
                "character {} at position {} is not in {cset:?}",
                s[p..].chars().next().unwrap_or('?'),
                p + 1
            ),
        ));
    }
    Ok(())
}

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Gs1Error;
            fn from_str(s: &str) -> Result<Self, Gs1Error> {
                Self::parse(s)
            }
        }
    };
}

string_newtype!(
    /// GTIN, stored as GTIN-14 (GTIN-8/12/13 are left-padded with zeros).
    Gtin
);
impl Gtin {
    /// Parses a GTIN-8, -12, -13 or -14 and checks its check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        check_digits("GTIN", s, &[8, 12, 13, 14])?;
        check_mod10("GTIN", s)?;
        Ok(Gtin(format!("{s:0>14}")))
    }

    /// The indicator digit (first digit of the GTIN-14).
    pub fn indicator(&self) -> u8 {
        self.0.as_bytes()[0] - b'0'
    }

    /// The shortest form (GTIN-8, -12 or -13) if the leading digits are zeros, else GTIN-14.
    pub fn shortest(&self) -> &str {
        let z = self.0.bytes().take_while(|&c| c == b'0').count();
        match z {
            6.. => &self.0[6..],
            2 => &self.0[2..],
            1 => &self.0[1..],
            _ => &self.0,
        }
    }
}

string_newtype!(
    /// GLN (13 digits with check digit).
    Gln
);
impl Gln {
    /// Parses a GLN and checks its check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        check_digits("GLN", s, &[13])?;
        check_mod10("GLN", s)?;
        Ok(Gln(s.to_string()))
    }
}

string_newtype!(
    /// SSCC (18 digits with check digit).
    Sscc
);
impl Sscc {
    /// Parses an SSCC and checks its check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        check_digits("SSCC", s, &[18])?;
        check_mod10("SSCC", s)?;
        Ok(Sscc(s.to_string()))
    }
}

string_newtype!(
    /// GSRN (18 digits with check digit; AI 8017 provider or 8018 recipient).
    Gsrn
);
impl Gsrn {
    /// Parses a GSRN and checks its check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        check_digits("GSRN", s, &[18])?;
        check_mod10("GSRN", s)?;
        Ok(Gsrn(s.to_string()))
    }
}

string_newtype!(
    /// GRAI (AI 8003): `0`, 12 digits, check digit, optional serial of up to 16 CSET 82 characters.
    Grai
);
impl Grai {
    /// Parses a GRAI and checks its check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        if !s.is_char_boundary(14) {
            return Err(Gs1Error::invalid(
                "GRAI",
                "must be 14 digits and an optional serial",
            ));
        }
        let (key, serial) = s.split_at(14);
        check_digits("GRAI", key, &[14])?;
        if key.as_bytes()[0] != b'0' {
            return Err(Gs1Error::invalid("GRAI", "must start with 0"));
        }
        check_mod10("GRAI", key)?;
        if !serial.is_empty() {
            check_text("GRAI serial", serial, Cset::Cset82, 16)?;
        }
        Ok(Grai(s.to_string()))
    }

    /// The serial component, if any.
    pub fn serial(&self) -> Option<&str> {
        Some(&self.0[14..]).filter(|s| !s.is_empty())
    }
}

string_newtype!(
    /// GDTI (AI 253): 13 digits with check digit and an optional serial of up to 17 CSET 82
    /// characters.
    Gdti
);
impl Gdti {
    /// Parses a GDTI and checks its check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        if !s.is_char_boundary(13) {
            return Err(Gs1Error::invalid(
                "GDTI",
                "must be 13 digits and an optional serial",
            ));
        }
        let (key, serial) = s.split_at(13);
        check_digits("GDTI", key, &[13])?;
        check_mod10("GDTI", key)?;
        if !serial.is_empty() {
            check_text("GDTI serial", serial, Cset::Cset82, 17)?;
        }
        Ok(Gdti(s.to_string()))
    }

    /// The serial component, if any.
    pub fn serial(&self) -> Option<&str> {
        Some(&self.0[13..]).filter(|s| !s.is_empty())
    }
}

string_newtype!(
    /// GIAI (AI 8004): up to 30 CSET 82 characters starting with a GS1 Company Prefix (no check
    /// digit).
    Giai
);
impl Giai {
    /// Parses a GIAI.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        check_text("GIAI", s, Cset::Cset82, 30)?;
        if s.len() < 4 || !s.bytes().take(4).all(|c| c.is_ascii_digit()) {
            return Err(Gs1Error::invalid(
                "GIAI",
                "must start with a GS1 Company Prefix (digits)",
            ));
        }
        Ok(Giai(s.to_string()))
    }
}

string_newtype!(
    /// A serial number (AI 21): 1 to 20 CSET 82 characters.
    Serial
);
impl Serial {
    /// Parses a serial number.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        check_text("serial", s, Cset::Cset82, 20)?;
        Ok(Serial(s.to_string()))
    }
}

string_newtype!(
    /// A batch or lot number (AI 10): 1 to 20 CSET 82 characters.
    Lot
);
impl Lot {
    /// Parses a batch/lot number.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        check_text("batch/lot", s, Cset::Cset82, 20)?;
        Ok(Lot(s.to_string()))
    }
}
