//! Numbers as people read them in text files, tables and the progress line: sizes in binary
//! units with one decimal, durations rounded. Times are `imagefacts_model::text::rfc3339_seconds`.
//! JSON keeps exact values; only text uses these.

use std::time::Duration;

/// 1536 → `1.5 KiB`, 449 → `449 B`; 0 (unknown) → `-`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes == 0 {
        return "-".to_owned();
    }
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `0.4s`, `12.3s`, `2m05s`, `1h02m`.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s < 60 => format!("{:.1}s", d.as_secs_f64()),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(size(0), "-");
        assert_eq!(size(449), "449 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(12_897_484), "12.3 MiB");
        assert_eq!(size(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(duration(Duration::from_millis(420)), "0.4s");
        assert_eq!(duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }
}
