//! CBV 2.0 standard vocabulary: bare words (`shipping`), URNs (`urn:epcglobal:cbv:bizstep:shipping`),
//! CURIEs (`cbv:BizStep-shipping`, `gs1:Temperature`) and Web URIs
//! (`https://ref.gs1.org/cbv/BizStep-shipping`), and conversions between them.
//!
//! The word lists (one table, `hash::vocab`, which the event hash uses too) are the terms of the
//! EPCIS 2.0 JSON-LD context, which are the enumerations of the official EPCIS 2.0 JSON schema
//! (`crates/epcis/schema/EPCIS-JSON-Schema.json`); the URI forms follow that context
//! (`cbv:` = `https://ref.gs1.org/cbv/`, `gs1:` = `https://gs1.org/voc/`).

use std::borrow::Cow;

// The one table of the standard words (the event hash reads it too).
use crate::hash::vocab::{
    BIZ_STEP, BIZ_TRANSACTION_TYPE, COMPONENT, DISPOSITION, ERROR_REASON, MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE, SOURCE_DEST_TYPE, Vocabulary,
};

/// Which CBV vocabulary a value belongs to (the field it appears in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CbvField {
    /// `bizStep`
    BizStep,
    /// `disposition`, `persistentDisposition.set/unset`
    Disposition,
    /// `bizTransactionList[].type`
    BizTransactionType,
    /// `sourceList[].type`, `destinationList[].type`
    SourceDestType,
    /// `errorDeclaration.reason`
    ErrorReason,
    /// `sensorReport.type`
    MeasurementType,
    /// `sensorReport.exception`
    SensorAlertType,
    /// `sensorReport.component`
    Component,
}

/// CBV Web URI base.
const CBV: &str = "https://ref.gs1.org/cbv/";
/// GS1 Web vocabulary base.
const GS1_VOC: &str = "https://gs1.org/voc/";

impl CbvField {
    /// The standard words of this field, with the web URI prefix they expand to.
    pub fn vocabulary(self) -> &'static Vocabulary {
        match self {
            CbvField::BizStep => &BIZ_STEP,
            CbvField::Disposition => &DISPOSITION,
            CbvField::BizTransactionType => &BIZ_TRANSACTION_TYPE,
            CbvField::SourceDestType => &SOURCE_DEST_TYPE,
            CbvField::ErrorReason => &ERROR_REASON,
            CbvField::MeasurementType => &MEASUREMENT_TYPE,
            CbvField::SensorAlertType => &SENSOR_ALERT_TYPE,
            CbvField::Component => &COMPONENT,
        }
    }

    /// `(web URI prefix, URN prefix)`; the URN form exists only for the EPCIS 1.x vocabularies.
    fn prefixes(self) -> (&'static str, Option<&'static str>) {
        let urn = match self {
            CbvField::BizStep => Some("urn:epcglobal:cbv:bizstep:"),
            CbvField::Disposition => Some("urn:epcglobal:cbv:disp:"),
            CbvField::BizTransactionType => Some("urn:epcglobal:cbv:btt:"),
            CbvField::SourceDestType => Some("urn:epcglobal:cbv:sdt:"),
            CbvField::ErrorReason => Some("urn:epcglobal:cbv:er:"),
            CbvField::MeasurementType | CbvField::SensorAlertType | CbvField::Component => None,
        };
        (self.vocabulary().prefix, urn)
    }

    /// Is `word` a standard bare word of this vocabulary?
    pub fn is_standard_word(self, word: &str) -> bool {
        self.vocabulary().prefix_of(word).is_some()
    }

    /// The XML form of a value: a standard word in its EPCIS 1.x/2.0 URN form when the
    /// vocabulary has one (`urn:epcglobal:cbv:bizstep:shipping`), GS1 Web vocabulary terms as
    /// `gs1:Term` and components as their Web URI, as in the GS1 XML examples; any other value
    /// unchanged.
    pub fn xml_form(self, value: &str) -> String {
        let (web, urn) = self.prefixes();
        match (compact_cbv_value(self, value), urn) {
            (Some(word), Some(urn)) => format!("{urn}{word}"),
            (Some(word), None) if web == GS1_VOC => format!("gs1:{word}"),
            (Some(word), None) => format!("{web}{word}"),
            (None, _) => value.trim().to_string(),
        }
    }
}

/// Expands a CBV value to its Web URI:
/// `shipping`, `urn:epcglobal:cbv:bizstep:shipping` and `cbv:BizStep-shipping` all become
/// `https://ref.gs1.org/cbv/BizStep-shipping`; `Temperature` and `gs1:Temperature` become
/// `https://gs1.org/voc/Temperature`. A bare word is expanded only if it is a standard word of
/// `field`; URNs of the `urn:epcglobal:cbv:` vocabularies are mapped whatever their word.
/// Anything else is returned unchanged (surrounding whitespace trimmed).
pub fn expand_cbv_value(field: CbvField, value: &str) -> Cow<'_, str> {
    let v = value.trim();
    let (web, urn) = field.prefixes();
    if field.is_standard_word(v) {
        return Cow::Owned(format!("{web}{v}"));
    }
    if let Some(urn) = urn
        && let Some(word) = v.strip_prefix(urn)
    {
        return Cow::Owned(format!("{web}{word}"));
    }
    if let Some(rest) = v.strip_prefix("cbv:") {
        return Cow::Owned(format!("{CBV}{rest}"));
    }
    if let Some(rest) = v.strip_prefix("gs1:") {
        return Cow::Owned(format!("{GS1_VOC}{rest}"));
    }
    Cow::Borrowed(v)
}

/// [`expand_cbv_value`] into an owned `String`.
pub fn expand_cbv_value_owned(field: CbvField, value: &str) -> String {
    expand_cbv_value(field, value).into_owned()
}

/// The bare word of a standard CBV value in any of its forms (bare, URN, CURIE, Web URI), or
/// `None` when the value is not a standard word of `field`.
pub fn compact_cbv_value(field: CbvField, value: &str) -> Option<&str> {
    let v = value.trim();
    if field.is_standard_word(v) {
        return Some(v);
    }
    let (web, urn) = field.prefixes();
    let curie = web
        .strip_prefix(CBV)
        .map(|p| ("cbv:", p))
        .or_else(|| web.strip_prefix(GS1_VOC).map(|p| ("gs1:", p)));
    let word = v
        .strip_prefix(web)
        .or_else(|| urn.and_then(|u| v.strip_prefix(u)))
        .or_else(|| curie.and_then(|(c, p)| v.strip_prefix(c)?.strip_prefix(p)))
        .or_else(|| {
            // http:// and https://www.gs1.org variants of the GS1 vocabulary seen in examples.
            let tail = web.strip_prefix("https://")?;
            v.strip_prefix("http://")
                .and_then(|r| r.strip_prefix(tail))
                .or_else(|| {
                    v.strip_prefix("https://www.")
                        .and_then(|r| r.strip_prefix(tail))
                })
        })?;
    field.is_standard_word(word).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Vocabulary::prefix_of` searches by bisection.
    #[test]
    fn every_list_is_sorted_without_duplicates() {
        for field in [
            CbvField::BizStep,
            CbvField::Disposition,
            CbvField::BizTransactionType,
            CbvField::SourceDestType,
            CbvField::ErrorReason,
            CbvField::MeasurementType,
            CbvField::SensorAlertType,
            CbvField::Component,
        ] {
            let terms = field.vocabulary().terms;
            assert!(terms.windows(2).all(|w| w[0] < w[1]), "{field:?}");
            assert!(terms.iter().all(|t| field.is_standard_word(t)), "{field:?}");
        }
    }

    #[test]
    fn expands_every_form() {
        let want = "https://ref.gs1.org/cbv/BizStep-shipping";
        for v in [
            "shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
            "cbv:BizStep-shipping",
            want,
        ] {
            assert_eq!(expand_cbv_value(CbvField::BizStep, v), want, "{v}");
        }
        assert_eq!(
            expand_cbv_value(CbvField::Disposition, "in_progress"),
            "https://ref.gs1.org/cbv/Disp-in_progress"
        );
        assert_eq!(
            expand_cbv_value(CbvField::MeasurementType, "gs1:Temperature"),
            "https://gs1.org/voc/Temperature"
        );
        // Not a standard word: unchanged.
        assert_eq!(expand_cbv_value(CbvField::BizStep, "Shipping"), "Shipping");
        assert_eq!(
            expand_cbv_value(CbvField::BizStep, "https://x.example/s"),
            "https://x.example/s"
        );
    }

    #[test]
    fn compacts_and_writes_xml_forms() {
        for w in BIZ_STEP.terms {
            let full = expand_cbv_value_owned(CbvField::BizStep, w);
            assert_eq!(compact_cbv_value(CbvField::BizStep, &full), Some(*w));
            let xml = CbvField::BizStep.xml_form(w);
            assert_eq!(compact_cbv_value(CbvField::BizStep, &xml), Some(*w));
        }
        assert_eq!(
            CbvField::MeasurementType.xml_form("Temperature"),
            "gs1:Temperature"
        );
        assert_eq!(
            compact_cbv_value(CbvField::BizStep, "urn:epcglobal:cbv:bizstep:nope"),
            None
        );
    }
}
