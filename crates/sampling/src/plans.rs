//! ISO 2859-1 / GB/T 2828.1 and ANSI/ASQ Z1.4 attribute sampling plans.
//!
//! Table 1 (code letters), the single-sampling master tables with their arrows, the resolved
//! double-sampling tables, and the reduced tables of both standards. See `docs/sampling.md`
//! for where the two standards differ and how the GB/T 2828.1 reduced table is obtained.

use serde::{Deserialize, Serialize};

use crate::error::PlanError;
use crate::tables;

/// Which standard's tables to use. Normal and tightened tables are identical in both;
/// the reduced tables differ (Z1.4 keeps a gap between Ac and Re, ISO 2859-1:1999 and
/// GB/T 2828.1-2012 have Re = Ac + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Standard {
    /// GB/T 2828.1-2012 (= ISO 2859-1:1999).
    Gb2828,
    /// ANSI/ASQ Z1.4 (= MIL-STD-105E).
    Z14,
}

impl Standard {
    pub fn parse(s: &str) -> Result<Self, PlanError> {
        match s.to_ascii_lowercase().as_str() {
            "gb2828" | "gb/t2828.1" | "iso2859" | "iso2859-1" => Ok(Standard::Gb2828),
            "z14" | "z1.4" | "ansi" | "mil-std-105e" => Ok(Standard::Z14),
            _ => Err(PlanError::Invalid {
                field: "standard",
                rule: "one of gb2828, z14",
            }),
        }
    }
}

/// Inspection severity (ISO 2859-1 clause 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inspection {
    Normal,
    Tightened,
    Reduced,
}

impl Inspection {
    pub fn parse(s: &str) -> Result<Self, PlanError> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Ok(Inspection::Normal),
            "tightened" => Ok(Inspection::Tightened),
            "reduced" => Ok(Inspection::Reduced),
            _ => Err(PlanError::Invalid {
                field: "inspection",
                rule: "one of normal, tightened, reduced",
            }),
        }
    }
}

/// Single or double sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Single,
    Double,
}

impl Scheme {
    pub fn parse(s: &str) -> Result<Self, PlanError> {
        match s.to_ascii_lowercase().as_str() {
            "single" => Ok(Scheme::Single),
            "double" => Ok(Scheme::Double),
            _ => Err(PlanError::Invalid {
                field: "scheme",
                rule: "one of single, double",
            }),
        }
    }
}

/// Inspection levels of Table 1: special S-1..S-4 and general I, II, III.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "S-1")]
    S1,
    #[serde(rename = "S-2")]
    S2,
    #[serde(rename = "S-3")]
    S3,
    #[serde(rename = "S-4")]
    S4,
    I,
    II,
    III,
}

impl Level {
    pub const ALL: [Level; 7] = [
        Level::S1,
        Level::S2,
        Level::S3,
        Level::S4,
        Level::I,
        Level::II,
        Level::III,
    ];

    pub fn parse(s: &str) -> Result<Self, PlanError> {
        match s.to_ascii_uppercase().replace(' ', "").as_str() {
            "S-1" | "S1" => Ok(Level::S1),
            "S-2" | "S2" => Ok(Level::S2),
            "S-3" | "S3" => Ok(Level::S3),
            "S-4" | "S4" => Ok(Level::S4),
            "I" | "1" | "G-1" | "GI" => Ok(Level::I),
            "II" | "2" | "G-2" | "GII" => Ok(Level::II),
            "III" | "3" | "G-3" | "GIII" => Ok(Level::III),
            _ => Err(PlanError::Invalid {
                field: "level",
                rule: "one of S-1, S-2, S-3, S-4, I, II, III",
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        ["S-1", "S-2", "S-3", "S-4", "I", "II", "III"][self.index()]
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Sample size code letter (A..R; S exists only as the target of an arrow in the tightened table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CodeLetter {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    J,
    K,
    L,
    M,
    N,
    P,
    Q,
    R,
    S,
}

impl CodeLetter {
    pub const TABLE: [CodeLetter; 16] = [
        CodeLetter::A,
        CodeLetter::B,
        CodeLetter::C,
        CodeLetter::D,
        CodeLetter::E,
        CodeLetter::F,
        CodeLetter::G,
        CodeLetter::H,
        CodeLetter::J,
        CodeLetter::K,
        CodeLetter::L,
        CodeLetter::M,
        CodeLetter::N,
        CodeLetter::P,
        CodeLetter::Q,
        CodeLetter::R,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Option<CodeLetter> {
        if i == 16 {
            return Some(CodeLetter::S);
        }
        Self::TABLE.get(i).copied()
    }

    pub fn as_char(self) -> char {
        b"ABCDEFGHJKLMNPQRS"[self.index()] as char
    }

    pub fn parse(s: &str) -> Result<Self, PlanError> {
        let mut it = s.trim().chars();
        match (it.next(), it.next()) {
            (Some(c), None) => "ABCDEFGHJKLMNPQRS"
                .find(c.to_ascii_uppercase())
                .and_then(Self::from_index)
                .ok_or(PlanError::Invalid {
                    field: "code_letter",
                    rule: "one of A-H, J-N, P-S",
                }),
            _ => Err(PlanError::Invalid {
                field: "code_letter",
                rule: "one letter",
            }),
        }
    }
}

/// The 26 preferred AQL values of the tables (percent nonconforming or nonconformities per 100 units).
pub const PREFERRED_AQLS: [&str; 26] = [
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65", "1.0",
    "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65", "100", "150", "250", "400", "650",
    "1000",
];

/// A preferred AQL, held as its column index in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aql(u8);

impl Aql {
    pub fn parse(s: &str) -> Result<Self, PlanError> {
        let v: f64 = s.trim().parse().map_err(|_| PlanError::Invalid {
            field: "aql",
            rule: "a number",
        })?;
        Self::from_value(v)
    }

    pub fn from_value(v: f64) -> Result<Self, PlanError> {
        PREFERRED_AQLS
            .iter()
            .position(|a| {
                let x: f64 = a.parse().unwrap_or(f64::NAN);
                (x - v).abs() <= 1e-9 * x
            })
            .map(|i| Aql(i as u8))
            .ok_or(PlanError::Invalid {
                field: "aql",
                rule: "one of the 26 preferred AQL values 0.010..1000",
            })
    }

    pub fn from_index(i: usize) -> Option<Aql> {
        (i < 26).then_some(Aql(i as u8))
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn as_str(self) -> &'static str {
        PREFERRED_AQLS[self.index()]
    }

    pub fn value(self) -> f64 {
        self.as_str().parse().unwrap_or(f64::NAN)
    }
}

impl Serialize for Aql {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One cell of a master table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterCell {
    /// Use the first sampling plan above the arrow.
    Up,
    /// Use the first sampling plan below the arrow.
    Down,
    /// Acceptance number, rejection number.
    Plan(u32, u32),
    /// No entry (only in the short row S of the tightened table).
    Blank,
}

/// A single sampling plan: sample size, acceptance number, rejection number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinglePlan {
    pub n: u32,
    pub ac: u32,
    pub re: u32,
}

/// A double sampling plan; `ac2`/`re2` are for the cumulative sample n1 + n2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoublePlan {
    pub n1: u32,
    pub n2: u32,
    pub ac1: u32,
    pub re1: u32,
    pub ac2: u32,
    pub re2: u32,
}

/// What a plan look-up asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanRequest {
    pub standard: Standard,
    pub inspection: Inspection,
    pub scheme: Scheme,
    pub level: Level,
    pub aql: Aql,
    pub lot_size: u64,
}

/// The answer: the plan to use with the arrows followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanResult {
    pub standard: Standard,
    pub inspection: Inspection,
    pub scheme: Scheme,
    pub level: &'static str,
    pub aql: Aql,
    pub lot_size: u64,
    /// Code letter from Table 1.
    pub code_letter: char,
    /// Row of the single-sampling table whose plan is used after following arrows
    /// (`None` for double plans).
    pub plan_letter: Option<char>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single: Option<SinglePlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub double: Option<DoublePlan>,
    /// The double table says `*`: use the single plan (or the plan asked for is single).
    pub used_single_instead_of_double: bool,
    /// Sample size is at least the lot size: inspect every unit (ISO 2859-1 10.1).
    pub hundred_percent: bool,
}

/// Maximum lot size accepted (a limit on outside input).
pub const LOT_SIZE_MAX: u64 = 1_000_000_000_000;

/// Table 1: sample size code letter for a lot size and inspection level.
pub fn code_letter(lot_size: u64, level: Level) -> Result<CodeLetter, PlanError> {
    if lot_size < 2 {
        return Err(PlanError::Invalid {
            field: "lot_size",
            rule: "at least 2",
        });
    }
    if lot_size > LOT_SIZE_MAX {
        return Err(PlanError::Invalid {
            field: "lot_size",
            rule: "at most 10^12",
        });
    }
    for (min, max, letters) in tables::TABLE1.iter() {
        if lot_size >= *min && (*max == 0 || lot_size <= *max) {
            return Ok(letters[level.index()]);
        }
    }
    Err(PlanError::Invalid {
        field: "lot_size",
        rule: "covered by Table 1",
    })
}

/// Single-sampling sample size of a row of the normal / tightened master tables (S = 3150).
pub fn master_sample_size(letter: CodeLetter) -> u32 {
    match letter {
        CodeLetter::S => 3150,
        l => tables::SAMPLE_SIZE_NORMAL[l.index()],
    }
}

/// Follow the arrows of a master table from (letter, aql) to a plan. Returns the row index used.
pub fn resolve_master(
    table: &[(CodeLetter, u32, [MasterCell; 26])],
    letter: CodeLetter,
    aql: Aql,
) -> Result<(CodeLetter, SinglePlan), PlanError> {
    let mut row = letter.index();
    // Each step moves one row; the table has at most 17 rows, so this bounds the walk.
    for _ in 0..table.len() {
        let (l, n, cells) = table.get(row).ok_or(PlanError::TableGap {
            letter: letter.as_char(),
            aql: aql.as_str(),
        })?;
        match cells[aql.index()] {
            MasterCell::Plan(ac, re) => return Ok((*l, SinglePlan { n: *n, ac, re })),
            MasterCell::Up if row > 0 => row -= 1,
            MasterCell::Down => row += 1,
            _ => break,
        }
    }
    Err(PlanError::TableGap {
        letter: letter.as_char(),
        aql: aql.as_str(),
    })
}

fn reduced_letter_for(row: usize, n: u32) -> usize {
    let own = tables::SAMPLE_SIZE_REDUCED[row];
    if n == own {
        return row;
    }
    if n > own {
        (row..16)
            .find(|&i| tables::SAMPLE_SIZE_REDUCED[i] == n)
            .unwrap_or(row)
    } else {
        (0..=row)
            .rev()
            .find(|&i| tables::SAMPLE_SIZE_REDUCED[i] == n)
            .unwrap_or(row)
    }
}

/// Reduced single plan of a standard, arrows followed, with the row letter used.
///
/// GB/T 2828.1-2012 (= ISO 2859-1:1999): Table 2-C as published (`tables_gb2828`), Re = Ac + 1
/// everywhere. Z1.4: the resolved reduced table of the reference data, with its gaps.
pub fn reduced_single(
    standard: Standard,
    letter: CodeLetter,
    aql: Aql,
) -> Result<(CodeLetter, SinglePlan), PlanError> {
    let gap = || PlanError::TableGap {
        letter: letter.as_char(),
        aql: aql.as_str(),
    };
    let row = letter.index();
    if row >= 16 {
        return Err(gap());
    }
    match standard {
        Standard::Gb2828 => {
            resolve_master(&crate::tables_gb2828::GB2828_MASTER_REDUCED, letter, aql)
        }
        Standard::Z14 => {
            let z = tables::Z14_REDUCED_RESOLVED[row][aql.index()];
            let used = reduced_letter_for(row, z.n);
            Ok((CodeLetter::from_index(used).ok_or_else(gap)?, z))
        }
    }
}

/// Single plan for a code letter (arrows followed).
pub fn single_plan(
    standard: Standard,
    inspection: Inspection,
    letter: CodeLetter,
    aql: Aql,
) -> Result<(CodeLetter, SinglePlan), PlanError> {
    match inspection {
        Inspection::Normal => resolve_master(&tables::MASTER_NORMAL, letter, aql),
        Inspection::Tightened => resolve_master(&tables::MASTER_TIGHTENED, letter, aql),
        Inspection::Reduced => reduced_single(standard, letter, aql),
    }
}

/// Double plan for a code letter (arrows followed). `Ok(None)` means the table says `*`:
/// use the corresponding single plan.
pub fn double_plan(
    standard: Standard,
    inspection: Inspection,
    letter: CodeLetter,
    aql: Aql,
) -> Result<Option<DoublePlan>, PlanError> {
    let row = letter.index();
    if row >= 16 {
        return Err(PlanError::TableGap {
            letter: letter.as_char(),
            aql: aql.as_str(),
        });
    }
    let table = match (standard, inspection) {
        (_, Inspection::Normal) => &tables::Z14_DOUBLE_NORMAL,
        (_, Inspection::Tightened) => &tables::Z14_DOUBLE_TIGHTENED,
        (Standard::Z14, Inspection::Reduced) => &tables::Z14_DOUBLE_REDUCED,
        (Standard::Gb2828, Inspection::Reduced) => {
            return Err(PlanError::NotAvailable {
                what: "GB/T 2828.1-2012 (ISO 2859-1:1999) double sampling plans for reduced inspection",
                why: "no verified copy of Table 3-C was found (docs/sampling.md); use scheme single, or standard z14 for the Z1.4 plans",
            });
        }
    };
    Ok(table[row][aql.index()])
}

/// Look up the plan for a lot: Table 1, then the master table with arrows followed.
pub fn plan(req: &PlanRequest) -> Result<PlanResult, PlanError> {
    let letter = code_letter(req.lot_size, req.level)?;
    let (plan_letter, single) = single_plan(req.standard, req.inspection, letter, req.aql)?;
    let mut out = PlanResult {
        standard: req.standard,
        inspection: req.inspection,
        scheme: req.scheme,
        level: req.level.as_str(),
        aql: req.aql,
        lot_size: req.lot_size,
        code_letter: letter.as_char(),
        plan_letter: Some(plan_letter.as_char()),
        single: Some(single),
        double: None,
        used_single_instead_of_double: false,
        hundred_percent: u64::from(single.n) >= req.lot_size,
    };
    if req.scheme == Scheme::Double {
        match double_plan(req.standard, req.inspection, letter, req.aql)? {
            Some(d) => {
                out.single = None;
                out.double = Some(d);
                out.hundred_percent = u64::from(d.n1) >= req.lot_size;
                out.plan_letter = None;
            }
            None => out.used_single_instead_of_double = true,
        }
    }
    Ok(out)
}
