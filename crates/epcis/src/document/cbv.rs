//! CBV 2.0 standard vocabulary: bare words (`shipping`), URNs (`urn:epcglobal:cbv:bizstep:shipping`),
//! CURIEs (`cbv:BizStep-shipping`, `gs1:Temperature`) and Web URIs
//! (`https://ref.gs1.org/cbv/BizStep-shipping`), and conversions between them.
//!
//! The word lists are the enumerations of the official EPCIS 2.0 JSON schema
//! (`crates/epcis/schema/EPCIS-JSON-Schema.json`); the URI forms follow the EPCIS 2.0 JSON-LD
//! context (`cbv:` = `https://ref.gs1.org/cbv/`, `gs1:` = `https://gs1.org/voc/`).

use std::borrow::Cow;

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
    fn words(self) -> &'static [&'static str] {
        match self {
            CbvField::BizStep => BIZ_STEPS,
            CbvField::Disposition => DISPOSITIONS,
            CbvField::BizTransactionType => BIZ_TRANSACTION_TYPES,
            CbvField::SourceDestType => SOURCE_DEST_TYPES,
            CbvField::ErrorReason => ERROR_REASONS,
            CbvField::MeasurementType => MEASUREMENT_TYPES,
            CbvField::SensorAlertType => SENSOR_ALERT_TYPES,
            CbvField::Component => COMPONENTS,
        }
    }

    /// `(web URI prefix, URN prefix)`; the URN form exists only for the EPCIS 1.x vocabularies.
    fn prefixes(self) -> (&'static str, Option<&'static str>) {
        match self {
            CbvField::BizStep => (
                "https://ref.gs1.org/cbv/BizStep-",
                Some("urn:epcglobal:cbv:bizstep:"),
            ),
            CbvField::Disposition => (
                "https://ref.gs1.org/cbv/Disp-",
                Some("urn:epcglobal:cbv:disp:"),
            ),
            CbvField::BizTransactionType => (
                "https://ref.gs1.org/cbv/BTT-",
                Some("urn:epcglobal:cbv:btt:"),
            ),
            CbvField::SourceDestType => (
                "https://ref.gs1.org/cbv/SDT-",
                Some("urn:epcglobal:cbv:sdt:"),
            ),
            CbvField::ErrorReason => ("https://ref.gs1.org/cbv/ER-", Some("urn:epcglobal:cbv:er:")),
            CbvField::MeasurementType => ("https://gs1.org/voc/", None),
            CbvField::SensorAlertType => ("https://gs1.org/voc/", None),
            CbvField::Component => ("https://ref.gs1.org/cbv/Comp-", None),
        }
    }

    /// Is `word` a standard bare word of this vocabulary?
    pub fn is_standard_word(self, word: &str) -> bool {
        self.words().contains(&word)
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

const BIZ_STEPS: &[&str] = &[
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
    "sensor_reporting",
    "sampling",
];
const DISPOSITIONS: &[&str] = &[
    "active",
    "container_closed",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "no_pedigree_match",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unknown",
    "available",
    "completeness_verified",
    "completeness_inferred",
    "conformant",
    "container_open",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "non_conformant",
    "unavailable",
];
const BIZ_TRANSACTION_TYPES: &[&str] = &[
    "bol",
    "cert",
    "desadv",
    "inv",
    "pedigree",
    "po",
    "poc",
    "prodorder",
    "recadv",
    "rma",
    "testprd",
    "testres",
    "upevt",
];
const SOURCE_DEST_TYPES: &[&str] = &["owning_party", "possessing_party", "location"];
const ERROR_REASONS: &[&str] = &["did_not_occur", "incorrect_data"];
const MEASUREMENT_TYPES: &[&str] = &[
    "AbsoluteHumidity",
    "AbsorbedDose",
    "AbsorbedDoseRate",
    "Acceleration",
    "Radioactivity",
    "Altitude",
    "AmountOfSubstance",
    "AmountOfSubstancePerUnitVolume",
    "Angle",
    "AngularAcceleration",
    "AngularMomentum",
    "AngularVelocity",
    "Area",
    "Capacitance",
    "Conductance",
    "Conductivity",
    "Count",
    "Density",
    "Dimensionless",
    "DoseEquivalent",
    "DoseEquivalentRate",
    "DynamicViscosity",
    "ElectricCharge",
    "ElectricCurrent",
    "ElectricCurrentDensity",
    "ElectricFieldStrength",
    "Energy",
    "Exposure",
    "Force",
    "Frequency",
    "Illuminance",
    "Inductance",
    "Irradiance",
    "KinematicViscosity",
    "Length",
    "LinearMomentum",
    "Luminance",
    "LuminousFlux",
    "LuminousIntensity",
    "MagneticFlux",
    "MagneticFluxDensity",
    "MagneticVectorPotential",
    "Mass",
    "MassConcentration",
    "MassFlowRate",
    "MassPerAreaTime",
    "MemoryCapacity",
    "MolalityOfSolute",
    "MolarEnergy",
    "MolarMass",
    "MolarVolume",
    "Power",
    "Pressure",
    "RadiantFlux",
    "RadiantIntensity",
    "RelativeHumidity",
    "Resistance",
    "Resistivity",
    "SolidAngle",
    "SpecificVolume",
    "Speed",
    "SurfaceDensity",
    "SurfaceTension",
    "Temperature",
    "Time",
    "Torque",
    "Voltage",
    "Volume",
    "VolumeFlowRate",
    "VolumeFraction",
    "VolumetricFlux",
    "Wavenumber",
];
const SENSOR_ALERT_TYPES: &[&str] = &["ALARM_CONDITION", "ERROR_CONDITION"];
const COMPONENTS: &[&str] = &[
    "x",
    "y",
    "z",
    "axial_distance",
    "azimuth",
    "height",
    "spherical_radius",
    "polar_angle",
    "elevation_angle",
    "easting",
    "northing",
    "latitude",
    "longitude",
    "altitude",
];

#[cfg(test)]
mod tests {
    use super::*;

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
        for w in BIZ_STEPS {
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
