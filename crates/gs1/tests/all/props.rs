//! Properties of canonicalisation and translation over generated identifiers.

use gs1::cset::CSET82;
use gs1::{
    IdPattern, canonical_dl, dl_to_epc_urn, epc_urn_to_dl, key_path, key_path_to_epc_urn,
    normalize_id, parse_id_pattern, pct,
};
use proptest::prelude::*;

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::char::range('0', '9'), n)
        .prop_map(|v| v.into_iter().collect())
}

fn cset82(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(CSET82.to_vec()), 1..=max)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

/// (gcp length, TDS-escaped SGTIN URN, raw serial)
fn sgtin() -> impl Strategy<Value = (usize, String, String)> {
    (6usize..=12).prop_flat_map(|g| {
        (Just(g), digits(g), digits(13 - g), cset82(20)).prop_map(|(g, gcp, ir, serial)| {
            let urn = format!(
                "urn:epc:id:sgtin:{gcp}.{ir}.{}",
                pct::encode(&serial, pct::urn_keep)
            );
            (g, urn, serial)
        })
    })
}

/// (gcp length, SGLN URN)
fn sgln() -> impl Strategy<Value = (usize, String)> {
    (6usize..=12).prop_flat_map(|g| {
        (Just(g), digits(g), digits(12 - g), cset82(20)).prop_map(|(g, gcp, lr, ext)| {
            (
                g,
                format!(
                    "urn:epc:id:sgln:{gcp}.{lr}.{}",
                    pct::encode(&ext, pct::urn_keep)
                ),
            )
        })
    })
}

proptest! {
    #[test]
    fn canonical_is_idempotent_and_total(s in ".{0,80}") {
        // Never panics; a canonical form is its own canonical form.
        if let Some(c) = canonical_dl(&s) {
            prop_assert_eq!(canonical_dl(&c), Some(c.clone()));
            prop_assert!(c.starts_with("https://id.gs1.org/"));
        } else {
            prop_assert_eq!(normalize_id(&s), s);
        }
    }

    #[test]
    fn sgtin_urn_and_its_digital_link_agree((g, urn, serial) in sgtin()) {
        let c = canonical_dl(&urn).unwrap();
        prop_assert_eq!(canonical_dl(&c), Some(c.clone()));
        // The serial survives unescaped.
        let kp = key_path(&c).unwrap();
        prop_assert_eq!(kp.qualifier("21"), Some(serial.as_str()));
        // Lexical translation both ways lands on the same identifier.
        let dl = epc_urn_to_dl(&urn).unwrap();
        prop_assert_eq!(canonical_dl(&dl), Some(c.clone()));
        let back = dl_to_epc_urn(&c, g).unwrap();
        prop_assert_eq!(canonical_dl(&back), Some(c.clone()));
        // Standards-escaped translation gives back the URN exactly.
        prop_assert_eq!(key_path_to_epc_urn(&kp, g).unwrap(), urn);
    }

    #[test]
    fn sgln_round_trip((g, urn) in sgln()) {
        let c = canonical_dl(&urn).unwrap();
        let kp = key_path(&c).unwrap();
        prop_assert_eq!(key_path_to_epc_urn(&kp, g).unwrap(), urn);
    }

    #[test]
    fn class_pattern_prefix_matches_exactly_its_class(
        (g, urn, _s) in sgtin(),
        (_g2, other, _s2) in sgtin(),
    ) {
        // CP.IR of the URN: the first two '.'-separated fields (the serial may hold dots).
        let body = urn.strip_prefix("urn:epc:id:sgtin:").unwrap();
        let fields: Vec<&str> = body.splitn(3, '.').collect();
        let class = format!("urn:epc:idpat:sgtin:{}.{}.*", fields[0], fields[1]);
        let Ok(IdPattern::Prefix(p)) = parse_id_pattern(&class) else {
            return Err(TestCaseError::fail(format!("{class} is not a prefix pattern")));
        };
        prop_assert!(canonical_dl(&urn).unwrap().starts_with(&p));
        let same_class = key_path(&other).unwrap().value == key_path(&urn).unwrap().value;
        prop_assert_eq!(canonical_dl(&other).unwrap().starts_with(&p), same_class);
        let _ = g;
    }
}

fn dl_like() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        Just("https://id.gs1.org"),
        Just("http://ex.com/a"),
        Just("HTTPS://b")
    ];
    let key = prop_oneof![
        Just("01"),
        Just("gtin"),
        Just("00"),
        Just("414"),
        Just("417"),
        Just("8004"),
        Just("8003"),
        Just("253"),
        Just("255"),
        Just("401"),
        Just("402"),
        Just("8006"),
        Just("8010"),
        Just("8017"),
        Just("8018"),
        Just("8013"),
    ];
    let q = prop_oneof![
        Just(""),
        Just("/21/"),
        Just("/10/"),
        Just("/254/"),
        Just("/8011/"),
        Just("/235/"),
        Just("/22/")
    ];
    (
        host,
        key,
        "[0-9]{0,20}[0-9A-Za-z%/.#?=&é\u{1F600}_-]{0,12}",
        q,
        "[0-9A-Za-z%/é!()*+,:'\"-]{0,22}",
    )
        .prop_map(|(h, k, v, q, s)| format!("{h}/{k}/{v}{q}{s}"))
}

fn urn_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just("id:sgtin"),
        Just("id:sscc"),
        Just("id:sgln"),
        Just("id:grai"),
        Just("id:giai"),
        Just("id:gdti"),
        Just("id:cpi"),
        Just("id:sgcn"),
        Just("id:ginc"),
        Just("id:gsin"),
        Just("id:itip"),
        Just("id:upui"),
        Just("id:pgln"),
        Just("id:gsrn"),
        Just("id:gsrnp"),
        Just("class:lgtin"),
        Just("idpat:sgtin"),
        Just("idpat:grai"),
        Just("idpat:cpi"),
    ];
    (
        scheme,
        "[0-9]{0,13}",
        "[0-9.*]{0,14}",
        "[0-9A-Za-z%.*é!()/-]{0,24}",
    )
        .prop_map(|(s, a, b, c)| format!("urn:epc:{s}:{a}.{b}.{c}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn near_miss_inputs_never_panic_and_stay_consistent(s in prop_oneof![dl_like(), urn_like()]) {
        if let Some(c) = canonical_dl(&s) {
            prop_assert_eq!(canonical_dl(&c), Some(c.clone()), "{}", s);
        }
        let _ = parse_id_pattern(&s);
        let _ = epc_urn_to_dl(&s);
        for g in [0, 6, 7, 9, 12, 13] {
            if let Ok(u) = dl_to_epc_urn(&s, g) {
                // A URN we produce is one we accept.
                prop_assert!(gs1::EpcUrn::parse(&u).is_ok(), "{} -> {}", s, u);
            }
            let _ = gs1::dl_to_epc_class_urn(&s, g);
        }
        let _ = gs1::dlsyntax::parse_dl_uri(&s, &Default::default());
    }
}
