//! The link between a serialised trade item and its lot.

use crate::{CANONICAL_HOST, normalize_id, pct};

/// The canonical lot class (`https://id.gs1.org/01/{gtin}/10/{lot}`) of a canonical serialised
/// GTIN id (`https://id.gs1.org/01/{gtin}/21/{serial}`) and a lot number; `None` when the id is
/// not a serialised GTIN or the lot is empty.
pub fn lot_class_of_serial(serial: &str, lot: &str) -> Option<String> {
    let rest = serial.strip_prefix(CANONICAL_HOST)?.strip_prefix("/01/")?;
    let (gtin, _) = rest.split_once("/21/")?;
    if lot.is_empty() {
        return None;
    }
    let dl = format!(
        "{CANONICAL_HOST}/01/{gtin}/10/{}",
        pct::encode(lot, pct::dl_keep)
    );
    Some(normalize_id(&dl))
}
