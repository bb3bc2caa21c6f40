//! A QR code (ISO/IEC 18004, error correction level M) as inline SVG: one
//! `<path>` of the dark modules, a run of modules in a row per subpath,
//! inside the 4-module quiet zone. Encoding is the `qrcode` crate's
//! (without its renderers); the SVG is ours so that it carries an
//! accessible name and no XML declaration.

use authrim_oauth::html::escape;
use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write;

/// Modules of light border on each side (ISO/IEC 18004 §9.1).
pub const QUIET_ZONE: usize = 4;

/// The SVG, or `None` when `text` is too long for a QR code.
pub fn svg(text: &str, id: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
                let _ = write!(
                    path,
                    "M{} {}h{run}v1h-{run}z",
                    x + QUIET_ZONE,
                    y + QUIET_ZONE
                );
                x += run;
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         width=\"192\" height=\"192\" role=\"img\" aria-label=\"{label}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>",
        label = escape(label),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the dark modules back out of the path.
    fn modules(svg: &str, size: usize) -> Vec<bool> {
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut grid = vec![false; size * size];
        for sub in d.split('M').filter(|s| !s.is_empty()) {
            let (xy, rest) = sub.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            let run: usize = rest.split('v').next().unwrap().parse().unwrap();
            for i in 0..run {
                grid[y * size + x + i] = true;
            }
        }
        grid
    }

    #[test]
    fn the_path_draws_exactly_the_dark_modules() {
        let text = "https://id.example.com/device?user_code=WDJB-MJHT";
        let svg = svg(text, "device-qr", "QR code").unwrap();
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).unwrap();
        let width = code.width();
        let size = width + 2 * QUIET_ZONE;
        assert!(svg.contains(&format!("viewBox=\"0 0 {size} {size}\"")));
        let grid = modules(&svg, size);
        for (i, c) in code.to_colors().iter().enumerate() {
            let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
            assert_eq!(grid[y * size + x], *c == Color::Dark, "module {x},{y}");
        }
        let dark = grid.iter().filter(|d| **d).count();
        let expected = code
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        assert_eq!(dark, expected, "nothing drawn in the quiet zone");
    }

    #[test]
    fn accessible_and_escaped() {
        let svg = svg("x", "q", "a <b> & \"c\"").unwrap();
        assert!(svg.starts_with("<svg id=\"q\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-label=\"a &lt;b&gt; &amp; &quot;c&quot;\""));
        assert!(!svg.contains("<?xml"));
        assert_eq!(super::svg(&"x".repeat(5000), "q", "l"), None);
    }
}
