//! Small charts rendered to SVG on the server (no script, nothing fetched): horizontal bars with
//! labels and values, and a timeline of events on a time axis.

/// Escapes text for SVG/HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of `(label, value)` rows.
pub fn bars(title: &str, rows: &[(String, i64)]) -> String {
    let row_h = 26;
    let label_w = 190;
    let bar_w = 260;
    let height = 30 + row_h * rows.len().max(1);
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {w} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        t = esc(title),
        w = label_w + bar_w + 60
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 20 + i * row_h;
        let w = (*value as f64 / max as f64 * bar_w as f64).round() as i64;
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{l}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"18\" rx=\"3\" class=\"bar\"/>\
             <text x=\"{vx}\" y=\"{ty}\" class=\"value\">{value}</text>",
            lx = label_w - 8,
            ty = y + 14,
            l = esc(label),
            vx = label_w + w + 6,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A timeline: one dot per `(time in ms, label)` on a horizontal axis from the earliest to the
/// latest time, the axis ends labelled with `fmt` of their times; each dot carries its label as
/// a tooltip. Events at the same time stack upwards.
pub fn timeline(title: &str, events: &[(i64, String)], fmt: impl Fn(i64) -> String) -> String {
    let (left, width, base) = (20_i64, 560_i64, 70_i64);
    let min = events.iter().map(|e| e.0).min().unwrap_or(0);
    let max = events.iter().map(|e| e.0).max().unwrap_or(0);
    let span = (max - min).max(1);
    let mut svg = format!(
        "<svg class=\"chart timeline\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {w} 100\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" class=\"axis\" stroke=\"currentColor\"/>",
        t = esc(title),
        w = left * 2 + width,
        right = left + width,
    );
    let mut used: Vec<(i64, i64)> = Vec::new();
    for (at, label) in events {
        let x = if max == min {
            left + width / 2
        } else {
            left + (((at - min) as f64 / span as f64) * width as f64).round() as i64
        };
        let stacked = used.iter().filter(|(ux, _)| (ux - x).abs() < 8).count() as i64;
        used.push((x, stacked));
        let y = base - 10 - (stacked % 5) * 10;
        svg.push_str(&format!(
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"5\" class=\"bar\"><title>{}</title></circle>",
            esc(&format!("{} {label}", fmt(*at)))
        ));
    }
    if !events.is_empty() {
        svg.push_str(&format!(
            "<text x=\"{left}\" y=\"{ty}\" class=\"label\">{}</text>\
             <text x=\"{right}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{}</text>",
            esc(&fmt(min)),
            esc(&fmt(max)),
            ty = base + 20,
            right = left + width,
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_escaped_bars() {
        let svg = super::bars("組織 <kind>", &[("府省庁".into(), 3), ("大学".into(), 1)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;kind&gt;") && svg.contains("府省庁"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn renders_a_timeline() {
        let events = [
            (0, "a <1>".to_owned()),
            (1000, "b".into()),
            (1000, "c".into()),
        ];
        let svg = super::timeline("時系列", &events, |t| format!("t{t}"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("t0 a &lt;1&gt;") && svg.contains(">t1000</text>"));
        assert!(
            svg.contains("cy=\"60\"") && svg.contains("cy=\"50\""),
            "{svg}"
        );
    }
}
