//! The "does this look random?" gate for rules that match on context
//! (`password = …`) rather than on a token's own shape.

/// Shannon entropy of `value` in bits per byte.
pub fn shannon_bits_per_byte(value: &str) -> f64 {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// True when `value` looks like a generated secret rather than a word, a
/// name or a reference: at least 8 bytes, at least two character classes
/// (lower, upper, digit, other), entropy at or above `threshold`, and not a
/// dotted name (`settings.SECRET`), a variable reference (`$TOKEN`,
/// `${TOKEN}`, `{{ token }}`), or an all-caps constant name.
pub fn looks_random(value: &str, threshold: f64) -> bool {
    if value.len() < 8 || is_reference(value) || is_dotted_name(value) || is_constant_name(value) {
        return false;
    }
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
        value.bytes().any(|b| !b.is_ascii_alphanumeric()),
    ];
    classes.iter().filter(|&&present| present).count() >= 2
        && shannon_bits_per_byte(value) >= threshold
}

fn is_reference(value: &str) -> bool {
    value.starts_with('$')
        || value.starts_with("{{")
        || value.starts_with('<')
        || value.starts_with('%')
}

/// `settings.SECRET_KEY`, `os.environ`, `self.token2`: identifiers made of
/// letters and underscores (with at most two trailing digits) joined by dots.
fn is_dotted_name(value: &str) -> bool {
    value.contains('.')
        && value.split('.').all(|part| {
            let name = part.trim_end_matches(|c: char| c.is_ascii_digit());
            !name.is_empty()
                && part.len() - name.len() <= 2
                && name.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        })
}

fn is_constant_name(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
        && value.bytes().any(|b| b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_constant_strings() {
        assert_eq!(shannon_bits_per_byte("aaaaaaaa"), 0.0);
        assert!((shannon_bits_per_byte("abcdefgh") - 3.0).abs() < 1e-9);
    }

    #[test]
    fn random_tokens_pass_and_words_do_not() {
        assert!(looks_random("p4ssW0rd-9f8e7d6c", 3.0));
        assert!(looks_random("Zk3u9QmV7xLp2Rt8", 3.0));
        assert!(!looks_random("changeme", 3.0), "one character class");
        assert!(!looks_random("settings.SECRET_KEY", 3.0), "a dotted name");
        assert!(looks_random("eyJraWQiOi.abc123DEF456ghi789", 3.0), "dots inside a token");
        assert!(!looks_random("${DB_PASSWORD}", 3.0), "a reference");
        assert!(!looks_random("DJANGO_SECRET_KEY", 3.0), "a constant name");
        assert!(!looks_random("short1", 3.0), "too short");
    }
}
