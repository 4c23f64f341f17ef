//! Text people see (titles, names, locations): what is refused because it
//! would mislead whoever reads it.

/// Bidirectional controls: they reorder the text after them, so that a title
/// can read differently from what it is (`\u{202e}gnp.exe` shows as
/// `exe.png`). Arabic letter mark, left-to-right and right-to-left marks,
/// embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing by themselves: white space, controls,
/// zero-width and other format characters, fillers and variation selectors.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// A text field people read, trimmed: `Ok(None)` when blank (nothing but
/// white space); refused when it holds bidirectional controls, when it shows
/// nothing although it is not blank (only zero-width or other invisible
/// characters), or when it is longer than `max_chars` as sent (the limit the
/// OpenAPI documents state as `maxLength`, white space included).
pub fn display_text(field: &str, raw: &str, max_chars: usize) -> Result<Option<String>, String> {
    if raw.chars().count() > max_chars {
        return Err(format!("`{field}` must be at most {max_chars} characters"));
    }
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().any(is_bidi_control) {
        return Err(format!("`{field}` must not contain bidirectional control characters"));
    }
    if text.chars().all(is_invisible) {
        return Err(format!("`{field}` must contain visible characters"));
    }
    Ok(Some(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_reordering_text_is_refused() {
        assert_eq!(display_text("title", "  RustConf ", 11), Ok(Some("RustConf".to_owned())));
        assert_eq!(display_text("title", " \t ", 10), Ok(None));
        for invisible in ["\u{200B}\u{200B}", "\u{FEFF}", "\u{2060}\u{00AD}", "\u{3164}", " \u{200D} "] {
            assert!(display_text("title", invisible, 10).unwrap_err().contains("visible"), "{invisible:?}");
        }
        for reordering in ["\u{202E}gnp.exe", "a\u{2067}b", "x\u{200F}", "\u{061C}y"] {
            assert!(display_text("title", reordering, 10).unwrap_err().contains("bidirectional"), "{reordering:?}");
        }
        assert!(display_text("title", &"x".repeat(11), 10).unwrap_err().contains("at most 10"));
        assert!(display_text("title", &format!(" {}", "x".repeat(10)), 10).unwrap_err().contains("at most 10"));
        // Scripts written right to left are fine; only the controls are refused.
        assert_eq!(display_text("title", "مؤتمر", 10), Ok(Some("مؤتمر".to_owned())));
        assert_eq!(display_text("title", "😀 ok", 10), Ok(Some("😀 ok".to_owned())));
    }
}
