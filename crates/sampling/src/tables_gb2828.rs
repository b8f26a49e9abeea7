//! GB/T 2828.1-2012 (= ISO 2859-1:1999) Table 2-C, single sampling plans for reduced inspection
//! (master table, arrows kept).
//!
//! Hand-maintained (not generated): written from the published table as transcribed in the public
//! repository nihantao-crosis/quality-platform (`src/core/__tests__/fixtures/gbt2828-1-2012-tables-2abc-full16.tsv`
//! at commit 3f564054770f4889ed36c4b8e4fc3bf656c2cbed and `...-aql15-1000.tsv` at b1d174005b8fdedf3c7759af375dcf97e901d943),
//! where it was read from the scanned standard (PDF pages 21-23). A plan cell is the row's own
//! plan (Ac, Re = Ac + 1); an arrow points to the first plan in its direction in the same column.
//! The test `gb2828_reduced_single_table_2c_all_416_cells` follows every arrow and compares all 416
//! resolved cells with `tests/data/gbt2828_1_2012_table2c_resolved.csv`.
use crate::plans::{CodeLetter, MasterCell};
use CodeLetter::*;
use MasterCell::{Down, Plan, Up};

/// Table 2-C rows A..R: (letter, reduced sample size, cells for the 26 preferred AQLs).
#[rustfmt::skip]
pub const GB2828_MASTER_REDUCED: [(CodeLetter, u32, [MasterCell; 26]); 16] = [
    (A, 2, [Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(7, 8), Plan(10, 11), Plan(14, 15), Plan(21, 22), Plan(30, 31)]),
    (B, 2, [Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(7, 8), Plan(10, 11), Plan(14, 15), Plan(21, 22), Plan(30, 31)]),
    (C, 2, [Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Plan(14, 15), Plan(21, 22), Up]),
    (D, 3, [Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Plan(14, 15), Plan(21, 22), Up, Up]),
    (E, 5, [Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Plan(14, 15), Plan(21, 22), Up, Up, Up]),
    (F, 8, [Down, Down, Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up]),
    (G, 13, [Down, Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up]),
    (H, 20, [Down, Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up]),
    (J, 32, [Down, Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up]),
    (K, 50, [Down, Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up, Up]),
    (L, 80, [Down, Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up]),
    (M, 125, [Down, Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up]),
    (N, 200, [Down, Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up]),
    (P, 315, [Down, Plan(0, 1), Up, Down, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up]),
    (Q, 500, [Plan(0, 1), Up, Up, Down, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up]),
    (R, 800, [Up, Up, Up, Plan(1, 2), Plan(2, 3), Plan(3, 4), Plan(5, 6), Plan(6, 7), Plan(8, 9), Plan(10, 11), Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up, Up]),
];
