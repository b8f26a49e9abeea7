//! SVG charts come back as strings with one path per curve.

use sampling::chart::{self, Curve, RateBar};
use sampling::oc::{self, Model};

#[test]
fn oc_chart_svg_has_curves() {
    let ps: Vec<f64> = (0..=50).map(|i| i as f64 / 500.0).collect();
    let a: Vec<(f64, f64)> = oc::oc_curve(Model::Binomial, 80, 2, &ps, None)
        .unwrap()
        .iter()
        .map(|p| (p.p, p.pa))
        .collect();
    let b: Vec<(f64, f64)> = oc::oc_curve(Model::Poisson, 80, 2, &ps, None)
        .unwrap()
        .iter()
        .map(|p| (p.p, p.pa))
        .collect();
    let svg = chart::oc_svg(
        "n=80 c=2",
        &[
            Curve {
                label: "binomial",
                points: &a,
            },
            Curve {
                label: "poisson",
                points: &b,
            },
        ],
    )
    .unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.matches("<polyline").count() >= 2,
        "{}",
        &svg[..200.min(svg.len())]
    );
    assert!(svg.contains("binomial") && svg.contains("poisson"));
}

#[test]
fn pass_rate_chart_svg() {
    let bars = [
        RateBar {
            label: "food",
            rate: 0.985,
            lo: 0.98,
            hi: 0.99,
        },
        RateBar {
            label: "toys",
            rate: 0.93,
            lo: 0.91,
            hi: 0.95,
        },
    ];
    let svg = chart::pass_rates_svg("pass rates", &bars, Some(0.98)).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("food") && svg.contains("toys"));
    assert_eq!(svg.matches("<circle").count(), 2);
}
