//! Property tests of the disproportionality measures.

use proptest::prelude::*;
use risk::signal::Table2x2;

use crate::mgps::caers_fixed_theta;

fn table() -> impl Strategy<Value = Table2x2> {
    (1u64..500, 1u64..5_000, 1u64..5_000, 1u64..1_000_000)
        .prop_map(|(a, b, c, d)| Table2x2::new(a, b, c, d))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Swapping the roles of product and event (b ↔ c) leaves ROR, χ² and E unchanged.
    #[test]
    fn transpose_symmetry(t in table()) {
        let tt = Table2x2::new(t.a, t.c, t.b, t.d);
        prop_assert!((t.ror().estimate - tt.ror().estimate).abs() <= 1e-12 * t.ror().estimate);
        prop_assert!((t.chi2() - tt.chi2()).abs() <= 1e-9 * t.chi2().max(1.0));
        prop_assert!((t.chi2_yates() - tt.chi2_yates()).abs() <= 1e-9 * t.chi2_yates().max(1.0));
        prop_assert!((t.expected() - tt.expected()).abs() <= 1e-12 * t.expected());
        prop_assert!((t.bcpnn().ic - tt.bcpnn().ic).abs() <= 1e-9);
    }

    /// Swapping the event for "all other events" (a ↔ b, c ↔ d) inverts ROR.
    #[test]
    fn complement_inverts_ror(t in table()) {
        let comp = Table2x2::new(t.b, t.a, t.d, t.c);
        prop_assert!((t.ror().estimate * comp.ror().estimate - 1.0).abs() < 1e-12);
        prop_assert!((t.ror().lo * comp.ror().hi - 1.0).abs() < 1e-9);
    }

    /// With the margins fixed (so E is fixed), one more report of the pair — (a+1, b−1, c−1, d+1) —
    /// raises every measure.
    #[test]
    fn monotone_in_a_with_fixed_margins(t in table()) {
        prop_assume!(t.b >= 2 && t.c >= 2);
        let more = Table2x2::new(t.a + 1, t.b - 1, t.c - 1, t.d + 1);
        prop_assert!((more.expected() - t.expected()).abs() <= 1e-12 * t.expected());
        prop_assert!(more.prr().estimate > t.prr().estimate);
        prop_assert!(more.ror().estimate > t.ror().estimate);
        prop_assert!(more.ic_shrink().estimate > t.ic_shrink().estimate);
        prop_assert!(more.bcpnn().ic > t.bcpnn().ic);
        let p = caers_fixed_theta();
        prop_assert!(p.ebgm(more.a, more.expected()).2 > p.ebgm(t.a, t.expected()).2);
    }

    /// With b, c, d fixed, a larger a raises PRR and ROR.
    #[test]
    fn prr_ror_monotone_in_a(t in table()) {
        let more = Table2x2::new(t.a + 1, t.b, t.c, t.d);
        prop_assert!(more.prr().estimate > t.prr().estimate);
        prop_assert!(more.ror().estimate > t.ror().estimate);
    }

    /// Intervals contain their estimates; Yates never exceeds the uncorrected χ².
    #[test]
    fn intervals_and_orderings(t in table()) {
        for i in [t.prr(), t.ror(), t.ic_shrink()] {
            prop_assert!(i.lo < i.estimate && i.estimate < i.hi);
        }
        let b = t.bcpnn();
        prop_assert!(b.ic025 < b.ic && b.ic < b.ic975);
        prop_assert!(t.chi2_yates() <= t.chi2() + 1e-9);
        let s = caers_fixed_theta().score(t.a, t.expected());
        prop_assert!(s.eb05 < s.ebgm && s.ebgm < s.eb95);
    }

    /// When the event is rare (a ≪ a+b, c ≪ c+d), PRR ≈ ROR.
    #[test]
    fn prr_approaches_ror_for_rare_events(a in 1u64..50, c in 1u64..50, scale in 1_000u64..100_000) {
        let t = Table2x2::new(a, a * scale, c, c * scale * 10);
        let rel = (t.prr().estimate / t.ror().estimate - 1.0).abs();
        prop_assert!(rel < 2.0 / scale as f64, "rel {} scale {}", rel, scale);
    }
}
