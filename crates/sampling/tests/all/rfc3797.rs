//! RFC 3797 NomCom vectors (2012: pool 134, 2013: pool 154; 12 picks each) and drand vectors.

use std::collections::BTreeMap;

use sampling::rfc3797;

use crate::{read, u};

#[test]
fn rfc3797_nomcom_all_24_vectors() {
    let rows = read("rfc3797_nomcom_vectors.csv");
    let mut by_case: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for r in &rows {
        by_case.entry(r["case"].clone()).or_default().push(r);
    }
    let mut checked = 0;
    for (case, picks) in &by_case {
        let key = &picks[0]["key"];
        let pool = u(picks[0], "pool_size") as u32;
        // Rebuilding the key from its numbers, given unsorted, yields the same string.
        let mut sources = rfc3797::parse_key(key).unwrap();
        for s in &mut sources {
            s.reverse();
        }
        assert_eq!(&rfc3797::key(&sources).unwrap(), key, "{case}");
        let got = rfc3797::select(key, pool, picks.len() as u32).unwrap();
        for (g, r) in got.iter().zip(picks) {
            assert_eq!(g.index as u64, u(r, "index"), "{case}");
            assert_eq!(g.md5_hex, r["md5_hex"], "{case} #{}", g.index);
            assert_eq!(
                g.remaining as u64,
                u(r, "remaining_pool"),
                "{case} #{}",
                g.index
            );
            assert_eq!(g.selected as u64, u(r, "selected"), "{case} #{}", g.index);
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
}

#[test]
fn drand_vectors_randomness_and_rounds() {
    let rows = read("drand_vectors.csv");
    let v: BTreeMap<String, String> = rows
        .iter()
        .map(|r| (r["field"].clone(), r["value"].clone()))
        .collect();
    let sig = hex::decode(&v["round1_signature"]).unwrap();
    assert_eq!(
        hex::encode(rfc3797::drand_randomness(&sig)),
        v["round1_randomness_sha256_of_signature"]
    );
    // mainnet: round 1 starts at genesis
    let g: u64 = v["genesis_time_unix"].parse().unwrap();
    let period: u64 = v["period_s"].parse().unwrap();
    assert_eq!(rfc3797::drand_round_at(g, g, period), 1);
    // quicknet examples (genesis worked back from them in the reference)
    let qg: u64 = v["quicknet_genesis_time_unix_derived"].parse().unwrap();
    let qp: u64 = v["quicknet_period_s"].parse().unwrap();
    let t0 = 1_776_643_200; // 2026-04-20T00:00:00Z
    assert_eq!(
        rfc3797::drand_round_at(t0, qg, qp).to_string(),
        v["quicknet_round_at_2026-04-20T00:00:00Z"]
    );
    let t1 = t0 + 12 * 3600 + 30 * 60 + 45;
    assert_eq!(
        rfc3797::drand_round_at(t1, qg, qp).to_string(),
        v["quicknet_round_at_2026-04-20T12:30:45Z"]
    );
}
