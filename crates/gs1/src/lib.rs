//! GS1 identifiers (pure, no I/O).
//!
//! Contract used by other crates (keep these signatures):
//! - [`normalize_id`]: any identifier URI -> its canonical form used for indexing, matching and hashing.
//! - [`canonical_dl`]: an EPC URN (id / class / idpat without wildcards) or any GS1 Digital Link ->
//!   the canonical Digital Link on `https://id.gs1.org/`, or `None` if it is not a GS1 identifier.
//! - [`parse_id_pattern`]: a query value (EPC URN, `urn:epc:idpat:…` with `*`, Digital Link or any
//!   URI) -> exact canonical id or a canonical prefix.
//!
//! The canonical Digital Link is the one the CBV 2.0 event hash uses (EPCIS event hash generator,
//! `dl_normaliser`): host `https://id.gs1.org`, GTIN padded to 14 digits, short names replaced by
//! AIs, query string and fragment dropped, only the most fine-grained level of identification
//! (`01/…/21/…` wins over `01/…/10/…`; 22, 7040 and 8019 are dropped), `sgln` extension `0` means
//! no 254, `urn:epc:idpat:<scheme>:CP.REF.*` is the class (`01/<gtin>`, `8003/<grai>`, …). Values
//! are escaped as an EPC URN escapes them plus `! ( ) * + , :`, i.e. every byte outside
//! `A-Z a-z 0-9 ' - . ; = _` becomes `%XX` (upper-case hex). Check digits are not verified here
//! (the reference data has keys with wrong ones); the key newtypes ([`Gtin`] …) verify them.
//! Unlike the Python reference, a Digital Link whose values are percent-encoded is canonicalised
//! too (decoded, then escaped as above), so canonicalisation is idempotent.
//!
//! Modules:
//! - [`key`] / [`dl`] / [`epc`]: key paths, Digital Link and EPC URN parsing, the canonical form.
//! - [`translate`]: EPC URN <-> Digital Link (lexical, as the openepcis translator).
//! - [`keys`]: validated key newtypes; [`uscc`]: China's Unified Social Credit Code.
//! - [`ai`]: the AI table from the embedded GS1 Barcode Syntax Dictionary; [`lint`]: its component
//!   linters; [`element`]: element strings and AI association rules; [`dlsyntax`]: Digital Link <->
//!   element string as the GS1 Barcode Syntax Engine does it.
//! - [`checkdigit`], [`cset`], [`pct`]: check digits, character sets, percent-encoding.

pub mod ai;
pub mod checkdigit;
pub mod cset;
pub mod dl;
pub mod dlsyntax;
pub mod element;
pub mod epc;
pub mod error;
mod fast;
pub mod key;
pub mod keys;
pub mod lint;
pub mod lot;
pub mod pct;
pub mod translate;
pub mod uscc;

pub use dl::{DlMode, DlParts};
pub use epc::{EpcScheme, EpcUrn, UrnKind};
pub use error::Gs1Error;
pub use key::{KeyPath, KeyType};
pub use keys::{Gdti, Giai, Gln, Grai, Gsrn, Gtin, Lot, Serial, Sscc};
pub use lot::lot_class_of_serial;
pub use translate::{dl_to_epc_class_urn, dl_to_epc_urn, epc_urn_to_dl, key_path_to_epc_urn};
pub use uscc::Uscc;

/// Host of canonical Digital Links.
pub const CANONICAL_HOST: &str = "https://id.gs1.org";

/// Longest identifier URI accepted (bytes).
pub const MAX_URI_LEN: usize = 2048;

/// Canonical form of an identifier: `canonical_dl(uri)` when it is a GS1 identifier, otherwise the
/// input unchanged.
pub fn normalize_id(uri: &str) -> String {
    // One allocation: a canonical Digital Link is at most a little longer than the URI.
    let mut out = String::with_capacity(uri.len() + 24);
    normalize_id_into(uri, &mut out);
    out
}

/// [`normalize_id`] appended to `out`.
pub fn normalize_id_into(uri: &str, out: &mut String) {
    if !canonical_dl_into(uri, out) {
        out.push_str(uri);
    }
}

/// See the crate docs.
pub fn canonical_dl(uri: &str) -> Option<String> {
    let mut out = String::with_capacity(uri.len() + 24);
    canonical_dl_into(uri, &mut out).then_some(out)
}

/// [`canonical_dl`] appended to `out`: returns `false` (and leaves `out` as it was) when `uri` is
/// not a GS1 identifier. The common identifiers (`sgtin`, `sscc`, `sgln`, `pgln`, `grai` and
/// `lgtin` URNs with plain components, Digital Links already canonical) take an allocation-free
/// path; the result is always exactly [`canonical_dl`]'s.
pub fn canonical_dl_into(uri: &str, out: &mut String) -> bool {
    let uri = uri.trim_matches(|c: char| c.is_ascii_whitespace());
    if uri.starts_with("urn:epc:") {
        if fast::urn(uri, out) {
            return true;
        }
    } else if fast::is_canonical_dl(uri) {
        out.push_str(uri);
        return true;
    }
    match key_path(uri) {
        Ok(kp) => {
            kp.write_canonical_dl(out);
            true
        }
        Err(_) => false,
    }
}

/// The key path (unescaped values) of an EPC URN (id, class, `CP.REF.*` pattern or a pattern
/// without wildcards) or of a GS1 Digital Link on any host.
pub fn key_path(uri: &str) -> Result<KeyPath, Gs1Error> {
    if uri.starts_with("urn:epc:") {
        let urn = EpcUrn::parse(uri)?;
        let kp = urn.key_path()?;
        kp.validate()
            .map_err(|rule| Gs1Error::invalid("EPC URI", rule))?;
        Ok(kp)
    } else {
        dl::parse_key_path(uri)
    }
}

/// A query identifier: exact or prefix (both in canonical form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdPattern {
    /// Match identifiers equal to this canonical form.
    Exact(String),
    /// Match identifiers whose canonical form starts with this string.
    Prefix(String),
}

/// See the crate docs. Errors name the rule that was broken.
pub fn parse_id_pattern(s: &str) -> Result<IdPattern, String> {
    if s.len() > MAX_URI_LEN {
        return Err(format!("identifier longer than {MAX_URI_LEN} bytes"));
    }
    let trimmed = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if !trimmed.starts_with("urn:epc:idpat:") {
        return Ok(IdPattern::Exact(normalize_id(s)));
    }
    let s = trimmed;
    let urn = EpcUrn::parse(s).map_err(|e| e.to_string())?;
    if urn.is_complete() {
        let kp = urn.key_path().map_err(|e| e.to_string())?;
        kp.validate().map_err(|r| r.to_string())?;
        return Ok(IdPattern::Exact(kp.canonical_dl()));
    }
    pattern_prefix(&urn).map(IdPattern::Prefix)
}

/// The canonical-DL prefix that exactly the identifiers matching `urn` (a pattern with trailing
/// wildcards) start with.
fn pattern_prefix(urn: &EpcUrn) -> Result<String, String> {
    let no_prefix = |why: &str| {
        Err(format!(
            "{}: pattern cannot be expressed as a prefix of the canonical Digital Link ({why})",
            urn.scheme.name()
        ))
    };
    let Some(gcp) = urn.gcp.as_deref() else {
        return no_prefix("the company prefix is '*'");
    };
    let enc = |s: &str| -> Result<String, String> {
        pct::decode_lenient(s)
            .map(|d| pct::encode(&d, pct::hash_canonical_keep))
            .ok_or_else(|| "escape is not UTF-8".to_string())
    };
    let host = CANONICAL_HOST;
    if urn.is_class_pattern() {
        let kp = urn.key_path().map_err(|e| e.to_string())?;
        let base = kp.canonical_dl();
        return Ok(match urn.scheme {
            EpcScheme::Sgtin | EpcScheme::Itip => format!("{base}/21/"),
            EpcScheme::Upui => format!("{base}/235/"),
            EpcScheme::Cpi => format!("{base}/8011/"),
            // GRAI, GDTI, GCN: the serial follows the digits directly.
            _ => base,
        });
    }
    // Only the company prefix is given.
    if !urn.parts.is_empty() {
        // e.g. sgln CP.LR.* : the GLN is complete, any extension.
        if urn.scheme == EpcScheme::Sgln {
            let lr = &urn.parts[0];
            let gln = checkdigit::with_mod10(&format!("{gcp}{lr}")).ok_or("non-digit GLN")?;
            return Ok(format!("{host}/414/{gln}"));
        }
        return no_prefix("unsupported combination of wildcards");
    }
    let ai = match urn.scheme {
        EpcScheme::Sgln => "414",
        EpcScheme::Pgln => "417",
        EpcScheme::Giai => "8004",
        EpcScheme::Ginc => "401",
        EpcScheme::Gsrn => "8018",
        EpcScheme::Gsrnp => "8017",
        EpcScheme::Gsin => "402",
        EpcScheme::Gdti => "253",
        EpcScheme::Sgcn => "255",
        EpcScheme::Cpi => "8010",
        EpcScheme::Grai => return Ok(format!("{host}/8003/0{gcp}")),
        EpcScheme::Sgtin | EpcScheme::Upui | EpcScheme::Itip | EpcScheme::Lgtin => {
            return no_prefix("the GTIN starts with the indicator digit, not the company prefix");
        }
        EpcScheme::Sscc => {
            return no_prefix("the SSCC starts with the extension digit, not the company prefix");
        }
    };
    Ok(format!("{host}/{ai}/{}", enc(gcp)?))
}
