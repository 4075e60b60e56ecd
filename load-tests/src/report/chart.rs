//! SVG charts for the HTML report, drawn inline so the page needs nothing from elsewhere.

use std::fmt::Write as _;

use super::html::escape;

/// Series take these in turn; ten before one repeats.
const COLOURS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

/// A round number at or above `value` for an axis.
pub fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= value {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// One series of a line chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// An SVG line chart over the run's seconds.
pub fn line_chart(title: &str, unit: &str, series: &[Series]) -> String {
    let (width, height, left, right, top, bottom) = (920.0, 260.0, 64.0, 16.0, 28.0, 34.0);
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max);
    let y_max = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0_f64, f64::max),
    );
    let x_max = nice_ceiling(x_max);
    let px = |x: f64| left + x / x_max * (width - left - right);
    let py = |y: f64| top + (1.0 - y / y_max) * (height - top - bottom);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure><svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{t}"><text x="{left}" y="18" class="title">{t}</text>"#,
        t = escape(title)
    );
    for i in 0..=4 {
        let y = y_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r#"<line x1="{left}" x2="{}" y1="{py}" y2="{py}" class="grid"/><text x="{}" y="{}" class="tick" text-anchor="end">{}</text>"#,
            width - right,
            left - 6.0,
            py(y) + 4.0,
            short(y),
            py = py(y)
        );
    }
    for i in 0..=5 {
        let x = x_max * f64::from(i) / 5.0;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="tick" text-anchor="middle">{}s</text>"#,
            px(x),
            height - bottom + 16.0,
            short(x)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="12" y="{}" class="tick" transform="rotate(-90 12 {})">{}</text>"#,
        height / 2.0,
        height / 2.0,
        escape(unit)
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(y.min(y_max))))
            .collect();
        if !path.is_empty() {
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.6" {} points="{}"><title>{}</title></polyline>"#,
                if s.dashed {
                    r#"stroke-dasharray="5 3""#
                } else {
                    ""
                },
                path.join(" "),
                escape(&s.name)
            );
        }
    }
    svg.push_str("</svg><figcaption>");
    for (i, s) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<span class="key"><i style="background:{}"></i>{}</span>"#,
            COLOURS[i % COLOURS.len()],
            escape(&s.name)
        );
    }
    svg.push_str("</figcaption></figure>");
    svg
}

/// A horizontal bar chart of counts.
pub fn bar_chart(title: &str, bars: &[(String, u64, bool)]) -> String {
    if bars.is_empty() {
        return format!("<p><b>{}</b>: none.</p>", escape(title));
    }
    let row = 22.0;
    let (width, label) = (920.0, 300.0);
    let height = 30.0 + row * bars.len() as f64;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        r#"<figure><svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{t}"><text x="0" y="18" class="title">{t}</text>"#,
        t = escape(title)
    );
    for (i, (name, n, bad)) in bars.iter().enumerate() {
        let y = 28.0 + row * i as f64;
        let w = (*n as f64 / max) * (width - label - 80.0);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="tick" text-anchor="end">{}</text><rect x="{label}" y="{y}" width="{w:.1}" height="{}" fill="{}"/><text x="{}" y="{}" class="tick">{n}</text>"#,
            label - 8.0,
            y + 14.0,
            escape(name),
            row - 6.0,
            if *bad { "#d62728" } else { "#1f77b4" },
            label + w + 6.0,
            y + 14.0
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// An axis label in few characters (`12k`, `1.5M`).
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A moving average over `n` points (sampled rates are jumpy at 250 ms).
pub fn smooth(points: &[(f64, f64)], n: usize) -> Vec<(f64, f64)> {
    points
        .iter()
        .enumerate()
        .map(|(i, (x, _))| {
            let from = i.saturating_sub(n.saturating_sub(1));
            let slice = &points[from..=i];
            (
                *x,
                slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(2_400.0), 2_500.0);
    }
}
