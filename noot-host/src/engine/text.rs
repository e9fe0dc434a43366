//! Small text helpers shared by the engines.

/// The last `cap` bytes of `text` or fewer, starting at a character
/// boundary: the end of a log is what explains it.
pub fn tail(text: &str, cap: usize) -> &str {
    let start = text.len().saturating_sub(cap);
    let start = (start..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn tails_end_at_the_end_and_start_on_a_character() {
        assert_eq!(tail("abcdef", 2), "ef");
        assert_eq!(tail("ab", 10), "ab");
        assert_eq!(tail("xé", 1), "");
        assert_eq!(tail("xéy", 2), "y");
    }
}
