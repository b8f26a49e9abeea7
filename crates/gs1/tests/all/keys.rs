//! Key newtypes and the Unified Social Credit Code: reference examples and properties.

use gs1::uscc::{USCC_CHARSET, uscc_check_char};
use gs1::{Gdti, Giai, Gln, Grai, Gs1Error, Gsrn, Gtin, Lot, Serial, Sscc, Uscc};
use proptest::prelude::*;

/// Naive GS1 mod-10 written from the General Specifications' description: weights 3,1,3,…
/// from the right of the body.
fn naive_check(body: &str) -> u32 {
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        sum += if i % 2 == 0 { d * 3 } else { *d };
    }
    (10 - sum % 10) % 10
}

#[test]
fn keys_from_reference_documents() {
    // Keys used in the EPCIS and hash-generator examples and the Digital Link standard.
    assert_eq!(
        Gtin::parse("09520123456788").unwrap().as_str(),
        "09520123456788"
    );
    assert_eq!(
        Gtin::parse("9520123456788").unwrap().as_str(),
        "09520123456788"
    );
    assert_eq!(
        Gtin::parse("416000336108").unwrap().as_str(),
        "00416000336108"
    );
    assert_eq!(Gtin::parse("02345673").unwrap().as_str(), "00000002345673");
    assert_eq!(Gtin::parse("02345673").unwrap().shortest(), "02345673");
    assert!(matches!(
        Gtin::parse("09520123456789"),
        Err(Gs1Error::CheckDigit { .. })
    ));
    assert!(Gtin::parse("0952012345678").is_err());
    assert!(Gtin::parse("0952012345678A").is_err());
    assert!(Gln::parse("9520123456788").is_ok());
    assert!(Gln::parse("4012345000054").is_ok());
    assert!(Sscc::parse("952012345678912345").is_ok());
    assert!(Sscc::parse("106141411234567897").is_ok());
    assert!(Sscc::parse("106141411234567898").is_err());
    assert!(Gsrn::parse("123456789012345675").is_ok());
    assert!(Grai::parse("04012345000221334455").is_ok());
    assert_eq!(
        Grai::parse("04012345000221334455").unwrap().serial(),
        Some("334455")
    );
    assert!(Grai::parse("14012345000221").is_err());
    assert!(Gdti::parse("4012345000092PO-4711").is_ok());
    assert!(Gdti::parse("1231231231232TEST56789012345678").is_err());
    assert!(Giai::parse("4012345ABC345").is_ok());
    assert!(Giai::parse("4000001111222333444555666777888").is_err());
    assert!(Serial::parse("6789/&%\"!?()").is_ok());
    assert!(Serial::parse("a b").is_err());
    assert!(Lot::parse("").is_err());
    let e = Gtin::parse("09520123456789").unwrap_err().to_string();
    assert!(e.contains("GTIN") && e.contains("check digit"), "{e}");
}

#[test]
fn uscc_examples() {
    // GB 32100-2015's example and two published business licences.
    for s in [
        "91350100M000100Y43",
        "914403001922038216",
        "91440300708461136T",
    ] {
        let u = Uscc::parse(s).unwrap();
        assert_eq!(u.as_str(), s);
    }
    let u = Uscc::parse("91350100M000100Y43").unwrap();
    assert_eq!((u.registration_authority(), u.category()), ('9', '1'));
    assert_eq!(u.division(), "350100");
    assert_eq!(u.organisation_code(), "M000100Y4");
    assert!(Uscc::parse("91350100M000100Y44").is_err());
    assert!(Uscc::parse("91350100M000100Y4").is_err());
    assert!(Uscc::parse("91350100I000100Y43").is_err()); // I is not in the charset
    assert!(Uscc::parse("91350100m000100Y43").is_err());
    assert!(Uscc::parse("913501O0M000100Y43").is_err());
}

/// Naive check character straight from the standard's formula.
fn naive_uscc(first17: &str) -> char {
    let cs: Vec<char> = "0123456789ABCDEFGHJKLMNPQRTUWXY".chars().collect();
    let mut sum = 0u64;
    for (i, c) in first17.chars().enumerate() {
        let v = cs.iter().position(|&x| x == c).unwrap() as u64;
        sum += v * 3u64.pow(i as u32) % 31;
    }
    cs[((31 - sum % 31) % 31) as usize]
}

fn uscc_body() -> impl Strategy<Value = String> {
    let ch = proptest::sample::select(USCC_CHARSET.to_vec());
    (
        proptest::collection::vec(ch.clone(), 2),
        proptest::collection::vec(proptest::char::range('0', '9'), 6),
        proptest::collection::vec(ch, 9),
    )
        .prop_map(|(a, d, o)| {
            let mut s: String = a.into_iter().map(char::from).collect();
            s.extend(d);
            s.extend(o.into_iter().map(char::from));
            s
        })
}

proptest! {
    #[test]
    fn generated_uscc_is_valid(body in uscc_body()) {
        let c = uscc_check_char(body.as_bytes()).unwrap() as char;
        prop_assert_eq!(c, naive_uscc(&body));
        let code = format!("{body}{c}");
        prop_assert!(Uscc::parse(&code).is_ok());
    }

    #[test]
    fn uscc_single_substitution_is_detected(
        body in uscc_body(),
        pos in 0usize..18,
        sub in proptest::sample::select(USCC_CHARSET.to_vec()),
    ) {
        let c = uscc_check_char(body.as_bytes()).unwrap() as char;
        let mut code: Vec<u8> = format!("{body}{c}").into_bytes();
        prop_assume!(code[pos] != sub);
        code[pos] = sub;
        let s = String::from_utf8(code).unwrap();
        prop_assert!(Uscc::parse(&s).is_err(), "{} accepted", s);
    }

    #[test]
    fn gtin_check_digit_matches_naive(body in "[0-9]{13}") {
        let full = format!("{body}{}", naive_check(&body));
        prop_assert!(Gtin::parse(&full).is_ok());
        let wrong = format!("{body}{}", (naive_check(&body) + 1) % 10);
        prop_assert!(Gtin::parse(&wrong).is_err());
    }

    #[test]
    fn gtin_single_digit_error_is_detected(body in "[0-9]{13}", pos in 0usize..14, d in 0u32..10) {
        let full = format!("{body}{}", naive_check(&body));
        let mut b = full.into_bytes();
        prop_assume!(u32::from(b[pos] - b'0') != d);
        b[pos] = b'0' + d as u8;
        let s = String::from_utf8(b).unwrap();
        prop_assert!(Gtin::parse(&s).is_err());
    }

    #[test]
    fn sscc_and_gln_round_trip(body in "[0-9]{17}") {
        let sscc = format!("{body}{}", naive_check(&body));
        let parsed = Sscc::parse(&sscc).unwrap();
        prop_assert_eq!(parsed.as_str(), sscc.as_str());
        let gln = format!("{}{}", &body[..12], naive_check(&body[..12]));
        prop_assert!(Gln::parse(&gln).is_ok());
    }
}

proptest! {
    #[test]
    fn key_parsers_never_panic(s in "[0-9]{0,16}[0-9A-Za-z\u{e9}\u{1F600}]{0,6}") {
        let _ = (Gtin::parse(&s), Gln::parse(&s), Sscc::parse(&s), Gsrn::parse(&s));
        let _ = (Grai::parse(&s), Gdti::parse(&s), Giai::parse(&s), Serial::parse(&s), Lot::parse(&s));
        let _ = Uscc::parse(&s);
    }
}
