//! Regression tests (placeholder until filled).
