//! Command templates: `{field}` placeholders filled from a variant's config.
//!
//! A placeholder names a field by its dotted path (`{model.size}` reads
//! `{"model": {"size": …}}`); `{{` and `}}` are literal braces. Strings go
//! in as they are, numbers and booleans in their canonical JSON spelling,
//! lists and tables as compact JSON. A template is parsed once, when the
//! configuration is read, so a stray brace is reported with the line of
//! `command`; a field missing from a variant is reported when the pool is
//! loaded, before anything runs.

use serde_json::Value;

/// One word of a command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

impl Template {
    /// Parses one word; the error says what is wrong with its braces.
    pub fn parse(word: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = word.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut field = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => {
                                return Err(format!("`{word}` has a `{{` without its `}}`"));
                            }
                            Some(other) => field.push(other),
                        }
                    }
                    let field = field.trim().to_string();
                    if field.is_empty() || field.split('.').any(str::is_empty) {
                        return Err(format!("`{word}` has an empty placeholder"));
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Field(field));
                }
                '}' => return Err(format!("`{word}` has a `}}` without its `{{`")),
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { parts })
    }

    /// The fields this word reads.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The word for `config`, or the first field `config` lacks.
    pub fn render(&self, config: &Value) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(path) => {
                    let value = lookup(config, path).ok_or_else(|| path.clone())?;
                    out.push_str(&scalar_text(value));
                }
            }
        }
        Ok(out)
    }
}

/// The value at a dotted path.
pub fn lookup<'a>(config: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(config, |value, key| value.get(key))
}

/// How a value reads in a command line or a label.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every leaf of a config as `(dotted.path, text)`, in key order: what a
/// label is made of and what MLflow gets as params. An empty table below
/// the top is a leaf (`{}`); an empty config has no leaves.
pub fn leaves(config: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&path, v, out);
                }
            }
            Value::Object(_) if prefix.is_empty() => {}
            other => out.push((prefix.to_string(), scalar_text(other))),
        }
    }
    let mut out = Vec::new();
    walk("", config, &mut out);
    out
}

/// Renders every word of `command` for `config`.
pub fn render_command(command: &[Template], config: &Value) -> Result<Vec<String>, String> {
    command.iter().map(|word| word.render(config)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_and_literal_braces_render() {
        let config =
            json!({"model": {"size": "small"}, "t": 0.7, "n": 3, "tags": ["a", "b"], "on": true});
        let render = |word: &str| Template::parse(word).expect("parses").render(&config);
        assert_eq!(render("--model={model.size}").as_deref(), Ok("--model=small"));
        assert_eq!(render("{t}/{n}/{on}").as_deref(), Ok("0.7/3/true"));
        assert_eq!(render("{tags}").as_deref(), Ok(r#"["a","b"]"#));
        assert_eq!(render("{{literal}}").as_deref(), Ok("{literal}"));
        assert_eq!(render("{missing}"), Err("missing".to_string()));
        assert_eq!(render("{ model.size }").as_deref(), Ok("small"));
    }

    #[test]
    fn stray_braces_are_refused_with_the_word() {
        assert_eq!(
            Template::parse("--x={model").expect_err("open"),
            "`--x={model` has a `{` without its `}`"
        );
        assert_eq!(Template::parse("a}b").expect_err("close"), "`a}b` has a `}` without its `{`");
        assert!(Template::parse("{}").is_err());
        assert!(Template::parse("{a..b}").is_err());
        let fields: Vec<String> =
            Template::parse("{a}-{b.c}").expect("parses").fields().map(String::from).collect();
        assert_eq!(fields, ["a", "b.c"]);
    }
}
