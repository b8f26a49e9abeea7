//! Switching rules (GB/T 2828.1-2012 clause 9) as scenarios.

use sampling::plans::{Aql, Level, Scheme, Standard};
use sampling::switching::{LotResult, Reason, State, Switching};

fn machine(aql: &str, scheme: Scheme, standard: Standard) -> Switching {
    Switching::new(
        "P-1",
        "S-1",
        standard,
        Level::II,
        Aql::parse(aql).unwrap(),
        scheme,
    )
}

fn lot(d: u32) -> LotResult {
    LotResult {
        lot_size: 1000,
        first_sample: d,
        second_sample: None,
        production_steady: true,
        authority_approves_reduced: true,
    }
}

#[test]
fn normal_to_tightened_on_two_of_five_not_accepted() {
    // Lot 1000, level II -> J (n 80); AQL 1.0 normal plan 2/3.
    let mut m = machine("1.0", Scheme::Single, Standard::Gb2828);
    let p = m.current_plan(1000).unwrap().unwrap().single.unwrap();
    assert_eq!((p.n, p.ac, p.re), (80, 2, 3));
    assert!(!m.record_lot(&lot(3)).unwrap().lot_accepted);
    for _ in 0..4 {
        assert_eq!(m.record_lot(&lot(0)).unwrap().state, State::Normal);
    }
    // The first rejection is now 6 lots back: a second one alone does not tighten.
    assert_eq!(m.record_lot(&lot(3)).unwrap().state, State::Normal);
    let next = m.record_lot(&lot(5)).unwrap();
    assert_eq!(
        next.transition,
        Some((
            State::Normal,
            State::Tightened,
            Reason::TwoOfFiveNotAccepted
        ))
    );
    let t = next.plan.unwrap().single.unwrap();
    assert_eq!((t.n, t.ac, t.re), (80, 1, 2), "tightened J at 1.0");
}

#[test]
fn tightened_to_normal_after_five_accepted_and_discontinuation() {
    let mut m = machine("1.0", Scheme::Single, Standard::Gb2828);
    m.record_lot(&lot(3)).unwrap();
    assert_eq!(m.record_lot(&lot(3)).unwrap().state, State::Tightened);
    for i in 0..4 {
        assert_eq!(
            m.record_lot(&lot(0)).unwrap().state,
            State::Tightened,
            "lot {i}"
        );
    }
    let n = m.record_lot(&lot(0)).unwrap();
    assert_eq!(
        n.transition,
        Some((
            State::Tightened,
            State::Normal,
            Reason::FiveConsecutiveAccepted
        ))
    );
    assert_eq!(n.switching_score, 0);
    // Back to tightened, then 5 lots not accepted (not necessarily consecutive) discontinue.
    m.record_lot(&lot(3)).unwrap();
    m.record_lot(&lot(3)).unwrap();
    assert_eq!(m.state, State::Tightened);
    for d in [2, 0, 2, 2, 0, 2] {
        m.record_lot(&lot(d)).unwrap();
    }
    assert_eq!(m.state, State::Tightened);
    let n = m.record_lot(&lot(2)).unwrap();
    assert_eq!(
        n.transition,
        Some((
            State::Tightened,
            State::Discontinued,
            Reason::FiveNotAcceptedOnTightened
        ))
    );
    assert!(n.plan.is_none());
    assert!(m.record_lot(&lot(0)).is_err());
    m.resume().unwrap();
    assert_eq!(m.state, State::Tightened);
}

#[test]
fn switching_score_to_reduced_and_back() {
    let mut m = machine("1.0", Scheme::Single, Standard::Gb2828);
    // Ac = 2: +3 only when the lot would pass with Ac one step tighter (1).
    for i in 1..=9 {
        assert_eq!(m.record_lot(&lot(1)).unwrap().switching_score, 3 * i);
    }
    // Accepted (d = 2) but not under the tighter AQL: score resets.
    let n = m.record_lot(&lot(2)).unwrap();
    assert!(n.lot_accepted);
    assert_eq!(n.switching_score, 0);
    for _ in 0..9 {
        m.record_lot(&lot(0)).unwrap();
    }
    // Without the authority's approval, no switch even at 30.
    let mut no = lot(0);
    no.authority_approves_reduced = false;
    let n = m.record_lot(&no).unwrap();
    assert_eq!((n.state, n.switching_score), (State::Normal, 30));
    let n = m.record_lot(&lot(0)).unwrap();
    assert_eq!(
        n.transition,
        Some((State::Normal, State::Reduced, Reason::SwitchingScoreReached))
    );
    // GB reduced plan at J, AQL 1.0: Re = Ac + 1.
    let r = n.plan.unwrap().single.unwrap();
    assert_eq!(r.re, r.ac + 1);
    // Production irregular ends reduced inspection.
    let mut irregular = lot(0);
    irregular.production_steady = false;
    let n = m.record_lot(&irregular).unwrap();
    assert_eq!(
        n.transition,
        Some((State::Reduced, State::Normal, Reason::ProductionIrregular))
    );
}

#[test]
fn score_for_small_acceptance_numbers_and_double_plans() {
    // AQL 0.25 at J: normal plan 0/1: +2 per accepted lot.
    let mut m = machine("0.25", Scheme::Single, Standard::Gb2828);
    assert_eq!(m.current_plan(1000).unwrap().unwrap().single.unwrap().ac, 0);
    for i in 1..=3 {
        assert_eq!(m.record_lot(&lot(0)).unwrap().switching_score, 2 * i);
    }
    assert_eq!(m.record_lot(&lot(1)).unwrap().switching_score, 0);
    // Double plan: +3 when accepted on the first sample, else reset.
    let mut m = machine("1.0", Scheme::Double, Standard::Z14);
    let d = m.current_plan(1000).unwrap().unwrap().double.unwrap();
    assert_eq!(m.record_lot(&lot(d.ac1)).unwrap().switching_score, 3);
    let mut second = lot(d.ac1 + 1);
    second.second_sample = Some(0);
    let n = m.record_lot(&second).unwrap();
    assert!(n.lot_accepted);
    assert_eq!(n.switching_score, 0);
    // Between Ac1 and Re1 a second sample is required.
    assert!(
        m.record_lot(&lot(d.ac1 + 1))
            .unwrap_err()
            .to_string()
            .starts_with("second_sample")
    );
}

#[test]
fn z14_reduced_between_ac_and_re_accepts_and_reinstates_normal() {
    let mut m = machine("1.0", Scheme::Single, Standard::Z14);
    for _ in 0..10 {
        m.record_lot(&lot(0)).unwrap();
    }
    assert_eq!(m.state, State::Reduced);
    let r = m.current_plan(1000).unwrap().unwrap().single.unwrap();
    assert!(r.re > r.ac + 1, "Z1.4 reduced J at 1.0 has a gap: {r:?}");
    let n = m.record_lot(&lot(r.ac + 1)).unwrap();
    assert!(n.lot_accepted);
    assert_eq!(
        n.transition,
        Some((
            State::Reduced,
            State::Normal,
            Reason::BetweenAcAndReOnReduced
        ))
    );
}
