//! Building product × event contingency tables.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::measures::Table2x2;
use crate::RiskError;
use crate::limits::MAX_CELLS;

/// How expected counts are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedMethod {
    /// E = n_i· n_·j / N over the whole table.
    #[default]
    Unstratified,
    /// E = Σ_s n_i·s n_·js / N_s: the same within each stratum (e.g. sex, age group, year), summed
    /// (DuMouchel 1999; openEBGM `processRaw(stratify = TRUE)`).
    Stratified,
}

/// One report line: a report (id) mentions a product and an event; `stratum` is the stratum of the
/// report ("" when not stratified). Counting is by distinct report ids, as openEBGM does: a report
/// naming the same pair twice counts once, and the margins count distinct reports, not pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report<'a> {
    /// Report identifier.
    pub id: &'a str,
    /// Product.
    pub product: &'a str,
    /// Event (hazard, injury).
    pub event: &'a str,
    /// Stratum ("" if none).
    pub stratum: &'a str,
}

/// One cell of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Index into [`Contingency::products`].
    pub product: u32,
    /// Index into [`Contingency::events`].
    pub event: u32,
    /// The 2×2 table of this cell.
    pub table: Table2x2,
    /// Expected count (per the method the table was built with).
    pub expected: f64,
}

/// A product × event contingency table: the non-empty cells with their 2×2 tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Contingency {
    /// Product names.
    pub products: Vec<String>,
    /// Event names.
    pub events: Vec<String>,
    /// Non-empty cells, sorted by product name then event name (byte order).
    pub cells: Vec<Cell>,
    /// N: total count (pairs, or distinct reports).
    pub total: u64,
    /// Margin of each product (a + b of its cells).
    pub product_totals: Vec<u64>,
    /// Margin of each event (a + c of its cells).
    pub event_totals: Vec<u64>,
    /// How `expected` was computed.
    pub method: ExpectedMethod,
}

#[derive(Default)]
struct Interner {
    map: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.map.insert(s.to_owned(), i);
        self.names.push(s.to_owned());
        i
    }
}

fn too_many() -> RiskError {
    RiskError::Limit {
        field: "pairs".into(),
        limit: MAX_CELLS,
        what: "distinct cells",
    }
}

impl Contingency {
    /// Builds the table from pair counts `(product, event, stratum, count)`; repeated pairs are
    /// summed. Margins are sums of counts. Use stratum "" when there are no strata.
    pub fn from_counts<'a, I>(rows: I, method: ExpectedMethod) -> Result<Contingency, RiskError>
    where
        I: IntoIterator<Item = (&'a str, &'a str, &'a str, u64)>,
    {
        let mut products = Interner::default();
        let mut events = Interner::default();
        let mut strata = Interner::default();
        let mut cells: HashMap<(u32, u32), u64> = HashMap::new();
        let mut by_stratum: HashMap<(u32, u32, u32), u64> = HashMap::new();
        for (p, e, s, n) in rows {
            let pi = products.get(p);
            let ei = events.get(e);
            *cells.entry((pi, ei)).or_insert(0) += n;
            if method == ExpectedMethod::Stratified {
                let si = strata.get(s);
                *by_stratum.entry((pi, ei, si)).or_insert(0) += n;
            }
            if cells.len() > MAX_CELLS {
                return Err(too_many());
            }
        }
        let mut row = vec![0u64; products.names.len()];
        let mut col = vec![0u64; events.names.len()];
        let mut total = 0u64;
        for (&(p, e), &n) in &cells {
            row[p as usize] += n;
            col[e as usize] += n;
            total += n;
        }
        let strat_e = if method == ExpectedMethod::Stratified {
            let ns = strata.names.len();
            let mut row_s: HashMap<(u32, u32), u64> = HashMap::new();
            let mut col_s: HashMap<(u32, u32), u64> = HashMap::new();
            let mut tot_s = vec![0u64; ns];
            for (&(p, e, s), &n) in &by_stratum {
                *row_s.entry((p, s)).or_insert(0) += n;
                *col_s.entry((e, s)).or_insert(0) += n;
                tot_s[s as usize] += n;
            }
            let mut e_map: HashMap<(u32, u32), f64> = HashMap::with_capacity(cells.len());
            for &(p, e) in cells.keys() {
                let mut sum = 0.0;
                for s in 0..ns as u32 {
                    let r = row_s.get(&(p, s)).copied().unwrap_or(0);
                    let c = col_s.get(&(e, s)).copied().unwrap_or(0);
                    if r > 0 && c > 0 {
                        sum += r as f64 * c as f64 / tot_s[s as usize] as f64;
                    }
                }
                e_map.insert((p, e), sum);
            }
            Some(e_map)
        } else {
            None
        };
        let mut out: Vec<Cell> = cells
            .iter()
            .filter(|&(_, &n)| n > 0)
            .map(|(&(p, e), &a)| {
                let r = row[p as usize];
                let c = col[e as usize];
                let table = Table2x2 {
                    a,
                    b: r - a,
                    c: c - a,
                    d: total + a - r - c,
                };
                let expected = match &strat_e {
                    Some(m) => m[&(p, e)],
                    None => r as f64 * c as f64 / total as f64,
                };
                Cell {
                    product: p,
                    event: e,
                    table,
                    expected,
                }
            })
            .collect();
        sort_cells(&mut out, &products.names, &events.names);
        Ok(Contingency {
            products: products.names,
            events: events.names,
            cells: out,
            total,
            product_totals: row,
            event_totals: col,
            method,
        })
    }

    /// Builds the table from report lines, counting distinct report ids (openEBGM's `processRaw`):
    /// a = reports naming both, margins = reports naming the product (event), N = all reports.
    pub fn from_reports<'a, I>(rows: I, method: ExpectedMethod) -> Result<Contingency, RiskError>
    where
        I: IntoIterator<Item = Report<'a>>,
    {
        let mut products = Interner::default();
        let mut events = Interner::default();
        let mut ids = Interner::default();
        let mut strata = Interner::default();
        let mut lines: Vec<(u32, u32, u32, u32)> = Vec::new();
        for r in rows {
            lines.push((
                products.get(r.product),
                events.get(r.event),
                ids.get(r.id),
                strata.get(r.stratum),
            ));
            if lines.len() > MAX_CELLS {
                return Err(too_many());
            }
        }
        // Distinct (product, event, id).
        let mut pei: Vec<(u32, u32, u32)> = lines.iter().map(|&(p, e, i, _)| (p, e, i)).collect();
        pei.sort_unstable();
        pei.dedup();
        let mut pair_counts: Vec<((u32, u32), u64)> = Vec::new();
        for &(p, e, _) in &pei {
            match pair_counts.last_mut() {
                Some((k, n)) if *k == (p, e) => *n += 1,
                _ => pair_counts.push(((p, e), 1)),
            }
        }
        let count_distinct = |pairs: &mut Vec<(u32, u32)>, size: usize| -> Vec<u64> {
            pairs.sort_unstable();
            pairs.dedup();
            let mut out = vec![0u64; size];
            for &(k, _) in pairs.iter() {
                out[k as usize] += 1;
            }
            out
        };
        let row = count_distinct(
            &mut lines.iter().map(|&(p, _, i, _)| (p, i)).collect(),
            products.names.len(),
        );
        let col = count_distinct(
            &mut lines.iter().map(|&(_, e, i, _)| (e, i)).collect(),
            events.names.len(),
        );
        let total = ids.names.len() as u64;

        let strat_e: Option<HashMap<(u32, u32), f64>> = if method == ExpectedMethod::Stratified {
            let ns = strata.names.len();
            let mut psi: Vec<(u32, u32, u32)> =
                lines.iter().map(|&(p, _, i, s)| (p, s, i)).collect();
            psi.sort_unstable();
            psi.dedup();
            let mut esi: Vec<(u32, u32, u32)> =
                lines.iter().map(|&(_, e, i, s)| (e, s, i)).collect();
            esi.sort_unstable();
            esi.dedup();
            let mut si: Vec<(u32, u32)> = lines.iter().map(|&(_, _, i, s)| (s, i)).collect();
            si.sort_unstable();
            si.dedup();
            let mut row_s: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
            for &(p, s, _) in &psi {
                let v = row_s.entry(p).or_default();
                match v.last_mut() {
                    Some((ls, n)) if *ls == s => *n += 1,
                    _ => v.push((s, 1)),
                }
            }
            let mut col_s: HashMap<(u32, u32), u64> = HashMap::new();
            for &(e, s, _) in &esi {
                *col_s.entry((e, s)).or_insert(0) += 1;
            }
            let mut tot_s = vec![0u64; ns];
            for &(s, _) in &si {
                tot_s[s as usize] += 1;
            }
            let mut m = HashMap::with_capacity(pair_counts.len());
            for &((p, e), _) in &pair_counts {
                let mut sum = 0.0;
                for &(s, r) in row_s.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
                    if let Some(&c) = col_s.get(&(e, s)) {
                        sum += r as f64 * c as f64 / tot_s[s as usize] as f64;
                    }
                }
                m.insert((p, e), sum);
            }
            Some(m)
        } else {
            None
        };

        let mut out: Vec<Cell> = pair_counts
            .iter()
            .map(|&((p, e), a)| {
                let r = row[p as usize];
                let c = col[e as usize];
                let table = Table2x2 {
                    a,
                    b: r - a,
                    c: c - a,
                    d: total + a - r - c,
                };
                let expected = match &strat_e {
                    Some(m) => m[&(p, e)],
                    None => r as f64 * c as f64 / total as f64,
                };
                Cell {
                    product: p,
                    event: e,
                    table,
                    expected,
                }
            })
            .collect();
        sort_cells(&mut out, &products.names, &events.names);
        Ok(Contingency {
            products: products.names,
            events: events.names,
            cells: out,
            total,
            product_totals: row,
            event_totals: col,
            method,
        })
    }

    /// Adds every absent product × event combination as a cell with a = 0 (openEBGM
    /// `zeroes = TRUE`), for unstratified tables. The number of cells becomes products × events,
    /// which is bounded by [`MAX_CELLS`].
    pub fn with_zero_cells(mut self) -> Result<Contingency, RiskError> {
        if self.method != ExpectedMethod::Unstratified {
            return Err(RiskError::invalid(
                "method",
                "zero cells are only supported for unstratified tables",
            ));
        }
        let full = self.products.len().saturating_mul(self.events.len());
        if full > MAX_CELLS {
            return Err(too_many());
        }
        let present: std::collections::HashSet<(u32, u32)> =
            self.cells.iter().map(|c| (c.product, c.event)).collect();
        for p in 0..self.products.len() as u32 {
            for e in 0..self.events.len() as u32 {
                if !present.contains(&(p, e)) {
                    let r = self.product_totals[p as usize];
                    let c = self.event_totals[e as usize];
                    let table = Table2x2 {
                        a: 0,
                        b: r,
                        c,
                        d: self.total - r - c,
                    };
                    self.cells.push(Cell {
                        product: p,
                        event: e,
                        table,
                        expected: r as f64 * c as f64 / self.total as f64,
                    });
                }
            }
        }
        sort_cells(&mut self.cells, &self.products, &self.events);
        Ok(self)
    }

    /// The names of a cell.
    pub fn names(&self, cell: &Cell) -> (&str, &str) {
        (
            &self.products[cell.product as usize],
            &self.events[cell.event as usize],
        )
    }
}

fn sort_cells(cells: &mut [Cell], products: &[String], events: &[String]) {
    // Rank names once, then sort by integer ranks.
    let rank = |names: &[String]| {
        let mut idx: Vec<u32> = (0..names.len() as u32).collect();
        idx.sort_unstable_by(|&x, &y| names[x as usize].cmp(&names[y as usize]));
        let mut r = vec![0u32; names.len()];
        for (pos, &i) in idx.iter().enumerate() {
            r[i as usize] = pos as u32;
        }
        r
    };
    let pr = rank(products);
    let er = rank(events);
    cells.sort_unstable_by_key(|c| (pr[c.product as usize], er[c.event as usize]));
}

/// Below twice this many cells the cheap whole-table measures run on the calling thread. A
/// helper thread costs about 15 µs to start and join on an idle machine, but on a busy one the
/// join can wait a whole scheduler time slice (some milliseconds) for a helper that has not yet
/// run: more than these tables take on one core (about 10 ns a cell).
const PARALLEL_MIN_CHEAP: usize = 16_384;
/// Cells per pass of `prr_all`, `ror_all` and `bcpnn_all`.
const PASS: usize = 64;
/// `bcpnn_all` computes ψ(1 + a) and ψ'(1 + a) ahead for the counts a up to this (and up to a
/// sixteenth of the number of cells); larger counts get them cell by cell.
const BCPNN_DENSE_MAX_A: u64 = 4_096;

impl Contingency {
    /// [`Table2x2::prr_signal`] of every cell (large tables are split over the available cores).
    pub fn prr_all(&self) -> Vec<super::measures::PrrSignal> {
        use super::measures::{PrrSignal, interval_log};
        // In passes over runs of PASS cells: the arithmetic of each cell first, then the
        // exponentials (shorter dependency chains overlap better). The same operations as
        // `prr_signal`, so the same bits.
        super::par::map_blocks(&self.cells, PARALLEL_MIN_CHEAP, |cells, out| {
            for run in cells.chunks(PASS) {
                let mut parts = [(0.0, 0.0, 0.0); PASS];
                for (c, p) in run.iter().zip(&mut parts) {
                    let (est, se) = c.table.prr_parts();
                    *p = (est, se, c.table.chi2_yates());
                }
                for (c, &(est, se, chi2_yates)) in run.iter().zip(&parts) {
                    out.push(PrrSignal {
                        prr: interval_log(est, se),
                        chi2_yates,
                        evans: c.table.a >= 3 && est >= 2.0 && chi2_yates >= 4.0,
                    });
                }
            }
        })
    }

    /// [`Table2x2::ror`] of every cell (large tables are split over the available cores).
    pub fn ror_all(&self) -> Vec<super::measures::Interval> {
        use super::measures::interval_log;
        // In passes, as `prr_all`; the same operations as `ror`.
        super::par::map_blocks(&self.cells, PARALLEL_MIN_CHEAP, |cells, out| {
            for run in cells.chunks(PASS) {
                let mut parts = [(0.0, 0.0); PASS];
                for (c, p) in run.iter().zip(&mut parts) {
                    *p = c.table.ror_parts();
                }
                for &(est, se) in &parts[..run.len()] {
                    out.push(interval_log(est, se));
                }
            }
        })
    }

    /// BCPNN for every cell, equal to [`Table2x2::bcpnn`] cell by cell (to rounding) but with the
    /// margin terms computed once per product and per event, ψ and ψ' of 1 + a once per count a
    /// (ψ(N + 2) is common to all cells), and ψ, ψ' of the remaining large argument sharing their
    /// reciprocals. Large tables are split over the available cores.
    pub fn bcpnn_all(&self) -> Vec<super::measures::Bcpnn> {
        use crate::special::{digamma, digamma_trigamma, trigamma};
        let n = self.total as f64;
        let (dn, tn) = (digamma(n + 2.0), trigamma(n + 2.0));
        // Per product (event): ψ(p1) − ψ(N + 2), ψ'(p1) − ψ'(N + 2) and (N + 2)/p1, p1 = 1 + margin.
        let n2 = n + 2.0;
        let margin_terms = |m: u64| {
            let p1 = 1.0 + m as f64;
            (digamma(p1) - dn, trigamma(p1) - tn, n2 / p1)
        };
        let prod: Vec<(f64, f64, f64)> = self
            .product_totals
            .iter()
            .map(|&r| margin_terms(r))
            .collect();
        let ev: Vec<(f64, f64, f64)> = self.event_totals.iter().map(|&c| margin_terms(c)).collect();
        let (inv_ln2, inv_ln2_sq) = (
            std::f64::consts::LOG2_E,
            std::f64::consts::LOG2_E * std::f64::consts::LOG2_E,
        );
        let z = super::measures::Z975;
        // (ψ(1 + a), ψ'(1 + a)) for the small counts a.
        let max_a = self.cells.iter().map(|c| c.table.a).max().unwrap_or(0);
        let dense_a = max_a
            .min(BCPNN_DENSE_MAX_A)
            .min(self.cells.len() as u64 / 16);
        let by_a: Vec<(f64, f64)> = (0..=dense_a)
            .map(|a| (digamma(1.0 + a as f64), trigamma(1.0 + a as f64)))
            .collect();
        // In passes over runs of PASS cells (as `prr_all`): the table lookups and arithmetic
        // first, then ψ and ψ' of the large argument and the square root.
        super::par::map_blocks(&self.cells, PARALLEL_MIN_CHEAP, |cells, out| {
            for run in cells.chunks(PASS) {
                let mut parts = [(0.0, 0.0, 0.0, 0.0, 0.0); PASS];
                for (c, p) in run.iter().zip(&mut parts) {
                    let t = c.table;
                    let (dr1, tr1) = match by_a.get(t.a as usize) {
                        Some(&v) => v,
                        None => (digamma(1.0 + t.a as f64), trigamma(1.0 + t.a as f64)),
                    };
                    let (pd, pt, pr) = prod[c.product as usize];
                    let (ed, et, er) = ev[c.event as usize];
                    // r1 + r2b with r2b = N − a − 1 + (N + 2)²/(q1·p1) (as in
                    // `Table2x2::bcpnn`; p1, q1 the margins plus one).
                    *p = (n + pr * er, dr1 - (pd + ed), tr1 + (pt + et), 0.0, 0.0);
                }
                for &(x, d, t, _, _) in &parts[..run.len()] {
                    let (ds, ts) = digamma_trigamma(x);
                    let ic = (d - ds) * inv_ln2;
                    let variance = (t - ts) * inv_ln2_sq;
                    let sd = variance.sqrt();
                    out.push(super::measures::Bcpnn {
                        ic,
                        variance,
                        ic025: ic - z * sd,
                        ic975: ic + z * sd,
                    });
                }
            }
        })
    }
}
