//! SVG charts as Strings (plotters' SVG backend; no files, no fonts loaded from disk).

use plotters::prelude::*;

use crate::error::PlanError;

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

fn draw_err<E: std::fmt::Debug>(_: E) -> PlanError {
    PlanError::NotAvailable {
        what: "SVG chart",
        why: "the drawing backend failed",
    }
}

/// One OC curve: a label and (p, Pa) points, p ascending.
pub struct Curve<'a> {
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
}

/// Draw OC curves (Pa against p) into an SVG string.
pub fn oc_svg(title: &str, curves: &[Curve<'_>]) -> Result<String, PlanError> {
    let p_max = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .fold(0.0f64, f64::max)
        .max(1e-6);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..p_max, 0.0..1.0)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("fraction nonconforming p")
            .y_desc("probability of acceptance Pa")
            .draw()
            .map_err(draw_err)?;
        for (i, c) in curves.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    c.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(c.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// One bar of a pass-rate chart: label, rate and interval.
pub struct RateBar<'a> {
    pub label: &'a str,
    pub rate: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Pass rates per group as points with interval whiskers, and an optional target line
/// (e.g. 0.98 for the food sampling pass-rate indicator).
pub fn pass_rates_svg(
    title: &str,
    bars: &[RateBar<'_>],
    target: Option<f64>,
) -> Result<String, PlanError> {
    if bars.len() > 500 {
        return Err(PlanError::Invalid {
            field: "groups",
            rule: "at most 500 groups in one chart",
        });
    }
    let y_min = bars
        .iter()
        .map(|b| b.lo)
        .filter(|v| v.is_finite())
        .fold(target.unwrap_or(1.0), f64::min);
    let y_min = (y_min - 0.02).clamp(0.0, 0.99);
    let n = bars.len().max(1);
    let labels: Vec<String> = bars.iter().map(|b| b.label.to_string()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y_min..1.0)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(n.min(30))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-9 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("pass rate")
            .draw()
            .map_err(draw_err)?;
        let color = PALETTE[0];
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.rate.is_finite())
                    .map(|(i, b)| Circle::new((i as f64, b.rate), 4, color.filled())),
            )
            .map_err(draw_err)?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.lo.is_finite() && b.hi.is_finite())
                    .map(|(i, b)| {
                        PathElement::new(vec![(i as f64, b.lo), (i as f64, b.hi)], color)
                    }),
            )
            .map_err(draw_err)?;
        if let Some(t) = target {
            chart
                .draw_series(LineSeries::new(
                    vec![(-0.5, t), (n as f64 - 0.5, t)],
                    PALETTE[1].stroke_width(1),
                ))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}
