//! Small charts rendered to SVG on the server (no script, nothing fetched): horizontal bars with
//! labels and values.

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

#[cfg(test)]
mod tests {
    #[test]
    fn renders_escaped_bars() {
        let svg = super::bars("組織 <kind>", &[("府省庁".into(), 3), ("大学".into(), 1)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;kind&gt;") && svg.contains("府省庁"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
