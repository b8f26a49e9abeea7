//! Bare-string terms of the standard vocabularies, as the EPCIS 2.0 JSON-LD context
//! (`gs1-EPCIS/epcis-context.jsonld`) maps them, with the IRI prefix each expands to: the one
//! table of the CBV words, which the event hash, validation and the XML codec (`CbvField`) use.
//! Generated once from that context file (whose words are the enumerations of
//! `EPCIS-JSON-Schema.json`, the lists differ only in order); each list is sorted for binary
//! search. A test checks them against both files.

/// A vocabulary: the IRI prefix its bare terms expand to, and the sorted terms.
#[derive(Debug, PartialEq, Eq)]
pub struct Vocabulary {
    /// IRI prefix (`term` expands to `prefix` + `term`).
    pub prefix: &'static str,
    /// Sorted bare terms.
    pub terms: &'static [&'static str],
}

impl Vocabulary {
    /// The expansion prefix if `term` is a bare term of this vocabulary.
    pub fn prefix_of(&self, term: &str) -> Option<&'static str> {
        // Terms are short: compare them inline rather than by a `memcmp` call each.
        self.terms
            .binary_search_by(|t| {
                let (a, b) = (t.as_bytes(), term.as_bytes());
                a.iter()
                    .zip(b)
                    .find(|(x, y)| x != y)
                    .map_or(a.len().cmp(&b.len()), |(x, y)| x.cmp(y))
            })
            .ok()
            .map(|_| self.prefix)
    }
}

/// Terms of `bizStep`.
pub static BIZ_STEP: Vocabulary = Vocabulary {
    prefix: "https://ref.gs1.org/cbv/BizStep-",
    terms: &[
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
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    ],
};

/// Terms of `disposition and persistentDisposition`.
pub static DISPOSITION: Vocabulary = Vocabulary {
    prefix: "https://ref.gs1.org/cbv/Disp-",
    terms: &[
        "active",
        "available",
        "completeness_inferred",
        "completeness_verified",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_class",
        "mismatch_instance",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    ],
};

/// Terms of `bizTransactionList type`.
pub static BIZ_TRANSACTION_TYPE: Vocabulary = Vocabulary {
    prefix: "https://ref.gs1.org/cbv/BTT-",
    terms: &[
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
    ],
};

/// Terms of `sourceList and destinationList type`.
pub static SOURCE_DEST_TYPE: Vocabulary = Vocabulary {
    prefix: "https://ref.gs1.org/cbv/SDT-",
    terms: &["location", "owning_party", "possessing_party"],
};

/// Terms of `errorDeclaration reason`.
pub static ERROR_REASON: Vocabulary = Vocabulary {
    prefix: "https://ref.gs1.org/cbv/ER-",
    terms: &["did_not_occur", "incorrect_data"],
};

/// Terms of `sensorReport type`.
pub static MEASUREMENT_TYPE: Vocabulary = Vocabulary {
    prefix: "https://gs1.org/voc/",
    terms: &[
        "AbsoluteHumidity",
        "AbsorbedDose",
        "AbsorbedDoseRate",
        "Acceleration",
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
        "Radioactivity",
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
    ],
};

/// Terms of `sensorReport exception`.
pub static SENSOR_ALERT_TYPE: Vocabulary = Vocabulary {
    prefix: "https://gs1.org/voc/",
    terms: &["ALARM_CONDITION", "ERROR_CONDITION"],
};

/// Terms of `sensorReport component`.
pub static COMPONENT: Vocabulary = Vocabulary {
    prefix: "https://ref.gs1.org/cbv/Comp-",
    terms: &[
        "altitude",
        "axial_distance",
        "azimuth",
        "easting",
        "elevation_angle",
        "height",
        "latitude",
        "longitude",
        "northing",
        "polar_angle",
        "spherical_radius",
        "x",
        "y",
        "z",
    ],
};
