//! Tiny inline-SVG charts: line charts over time and horizontal bars. No script, no
//! external anything: the report must open from a file with no network.

use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 260.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;

/// Colours that stay apart for the usual 2–4 lines.
pub const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// Escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// A line of a chart.
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// Round tick steps (1, 2, 5 × 10^k) covering [0, max].
fn ticks(max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let top = (max / step).ceil() * step;
    let n = (top / step).round() as usize;
    (top, (0..=n).map(|k| k as f64 * step).collect())
}

fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        trim(format!("{:.3}", v / 1e9)) + "G"
    } else if a >= 1e6 {
        trim(format!("{:.3}", v / 1e6)) + "M"
    } else if a >= 1e3 {
        trim(format!("{:.3}", v / 1e3)) + "k"
    } else if a >= 1.0 || a == 0.0 {
        trim(format!("{v:.2}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A line chart; `hline` draws a labelled horizontal reference (an objective).
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Line],
    hline: Option<(f64, &str)>,
) -> String {
    let xmax = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(0.0f64, f64::max);
    let ymax = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(hline.map(|h| h.0))
        .fold(0.0f64, f64::max);
    let (xtop, xt) = ticks(xmax);
    let (ytop, yt) = ticks(ymax * 1.05);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let sx = |x: f64| LEFT + pw * x / xtop;
    let sy = |y: f64| TOP + ph * (1.0 - y / ytop);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img"><title>{t}</title><text x="{LEFT}" y="18" class="ct">{t}</text>"#,
        t = esc(title)
    );
    for y in &yt {
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{x2:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e3e3e3"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end" class="tk">{v}</text>"##,
            x2 = W - RIGHT,
            yy = sy(*y),
            tx = LEFT - 6.0,
            ty = sy(*y) + 4.0,
            v = num(*y)
        );
    }
    for x in &xt {
        let _ = write!(
            s,
            r#"<text x="{xx:.1}" y="{ty:.1}" text-anchor="middle" class="tk">{v}</text>"#,
            xx = sx(*x),
            ty = H - BOTTOM + 16.0,
            v = num(*x)
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{xl:.1}" y="{yl:.1}" text-anchor="middle" class="ax">{xlab}</text><text x="14" y="{ym:.1}" text-anchor="middle" class="ax" transform="rotate(-90 14 {ym:.1})">{ylab}</text>"##,
        xl = LEFT + pw / 2.0,
        yl = H - 6.0,
        ym = TOP + ph / 2.0,
        xlab = esc(x_label),
        ylab = esc(y_label)
    );
    if let Some((v, label)) = hline {
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#555" stroke-dasharray="6 4"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end" class="tk">{l}</text>"##,
            x2 = W - RIGHT,
            y = sy(v),
            tx = W - RIGHT - 4.0,
            ty = sy(v) - 4.0,
            l = esc(label)
        );
    }
    for (k, l) in lines.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<String> = l
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.1)))
            .collect();
        let dash = if l.dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        if pts.len() == 1 {
            let (x, y) = pts[0].split_once(',').unwrap_or(("0", "0"));
            let _ = write!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>"#);
        } else {
            let _ = write!(
                s,
                r#"<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8"{dash} points="{}"/>"#,
                pts.join(" ")
            );
        }
        let lx = LEFT + 8.0 + 150.0 * k as f64;
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{y:.1}" width="12" height="3" fill="{color}"/><text x="{tx:.1}" y="{ty:.1}" class="lg">{n}</text>"#,
            y = TOP + 8.0,
            tx = lx + 16.0,
            ty = TOP + 12.0,
            n = esc(&l.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars, one per item; `reference` draws a vertical line (1.0 for ratios) and
/// `lower_is_better` tells, per item name, which side of it is good (green) or bad (red).
pub fn bar_chart(
    title: &str,
    unit: &str,
    items: &[(String, f64)],
    reference: Option<f64>,
    lower_is_better: &dyn Fn(&str) -> bool,
) -> String {
    let row = 18.0;
    let h = TOP + 14.0 + row * items.len() as f64 + 24.0;
    let label_w = 250.0;
    let pw = W - label_w - RIGHT - 60.0;
    let max = items
        .iter()
        .map(|i| i.1)
        .chain(reference)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let (top, _) = ticks(max);
    let sx = |v: f64| label_w + pw * (v / top).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" width="{W}" height="{h:.0}" viewBox="0 0 {W} {h:.0}" role="img"><title>{t}</title><text x="8" y="18" class="ct">{t}</text>"#,
        t = esc(title)
    );
    for (k, (name, v)) in items.iter().enumerate() {
        let y = TOP + 8.0 + row * k as f64;
        let color = match reference {
            Some(r) if (*v > r) == lower_is_better(name) => PALETTE[1],
            Some(_) => PALETTE[2],
            None => PALETTE[0],
        };
        let _ = write!(
            s,
            r#"<text x="{lx:.1}" y="{ty:.1}" text-anchor="end" class="tk">{n}</text><rect class="bar" x="{label_w}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{color}"/><text x="{vx:.1}" y="{ty:.1}" class="tk">{val} {u}</text>"#,
            lx = label_w - 6.0,
            ty = y + 12.0,
            n = esc(name),
            bw = (sx(*v) - label_w).max(0.5),
            bh = row - 4.0,
            vx = sx(*v) + 4.0,
            val = num(*v),
            u = esc(unit)
        );
    }
    if let Some(r) = reference {
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{y2:.1}" stroke="#555" stroke-dasharray="4 3"/>"##,
            x = sx(r),
            y2 = h - 20.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(9.3).1, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0).0, 1.0);
        let (top, t) = ticks(1_234_567.0);
        assert!(top >= 1_234_567.0 && t.len() <= 8, "{top} {t:?}");
        assert_eq!(num(1_500_000.0), "1.5M");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
