//! What a Rust function's body can be replaced with, from its return
//! type: cargo-mutants' table, so its users meet the same mutants.
//!
//! Each value must type-check as the return type; where the table cannot
//! know (a type of the crate's own, `Self`, a trait object), the value is
//! `Default::default()`, and a type without `Default` makes that mutant
//! unviable, which the build finds and reports.

use tree_sitter::Node;

/// At most this many values per function (tuples multiply).
const MAX_VALUES: usize = 8;

/// The values for `return_type` (`None`: no `->`, the unit type), or
/// `None` when the function cannot return (`-> !`).
pub fn replacements(return_type: Option<Node<'_>>, source: &str) -> Option<Vec<String>> {
    let Some(ty) = return_type else { return Some(vec!["()".into()]) };
    if ty.kind() == "never_type" || text(ty, source) == "!" {
        return None;
    }
    let mut values = values_of(ty, source);
    values.truncate(MAX_VALUES);
    Some(values)
}

fn values_of(ty: Node<'_>, source: &str) -> Vec<String> {
    match ty.kind() {
        "unit_type" => vec!["()".into()],
        "primitive_type" => primitive(text(ty, source)),
        "reference_type" => reference(ty, source),
        "generic_type" => generic(ty, source),
        "tuple_type" => tuple(ty, source),
        "array_type" => {
            let (Some(element), Some(length)) =
                (ty.child_by_field_name("element"), ty.child_by_field_name("length"))
            else {
                return default();
            };
            let length = text(length, source);
            values_of(element, source).into_iter().map(|v| format!("[{v}; {length}]")).collect()
        }
        "abstract_type" => abstract_type(ty, source),
        "type_identifier" | "scoped_type_identifier" => {
            named(last_segment(ty, source), None, source)
        }
        _ => default(),
    }
}

fn default() -> Vec<String> {
    vec!["Default::default()".into()]
}

fn primitive(name: &str) -> Vec<String> {
    let values: &[&str] = match name {
        "bool" => &["true", "false"],
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => &["0", "1"],
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => &["0", "1", "-1"],
        "f32" | "f64" => &["0.0", "1.0", "-1.0"],
        "char" => &["'\\0'", "'A'"],
        "str" => &["\"\"", "\"xyzzy\""],
        _ => return default(),
    };
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn reference(ty: Node<'_>, source: &str) -> Vec<String> {
    let Some(inner) = ty.child_by_field_name("type") else { return default() };
    if inner.kind() == "primitive_type" && text(inner, source) == "str" {
        return primitive("str");
    }
    if inner.kind() == "array_type" && inner.child_by_field_name("length").is_none() {
        // A slice: a leaked vector lives long enough for any lifetime.
        let element = inner.child_by_field_name("element");
        let mut values = vec!["Vec::leak(Vec::new())".to_owned()];
        if let Some(element) = element {
            values.extend(
                values_of(element, source).into_iter().map(|v| format!("Vec::leak(vec![{v}])")),
            );
        }
        return values;
    }
    // A leaked box lives for any lifetime, shared or `mut`.
    values_of(inner, source).into_iter().map(|v| format!("Box::leak(Box::new({v}))")).collect()
}

fn generic(ty: Node<'_>, source: &str) -> Vec<String> {
    let Some(base) = ty.child_by_field_name("type") else { return default() };
    let name = last_segment(base, source);
    let arguments: Vec<Node<'_>> = ty
        .child_by_field_name("type_arguments")
        .map(|list| {
            let mut cursor = list.walk();
            list.named_children(&mut cursor).filter(|n| n.kind() != "lifetime").collect()
        })
        .unwrap_or_default();
    named(name, Some(&arguments), source)
}

/// A named type with its type arguments (`None`: written without any).
fn named(name: &str, arguments: Option<&[Node<'_>]>, source: &str) -> Vec<String> {
    let first = || arguments.and_then(|a| a.first().copied()).map(|a| values_of(a, source));
    let wrap = |prefix: &str, suffix: &str| -> Vec<String> {
        first()
            .unwrap_or_else(default)
            .into_iter()
            .map(|v| format!("{prefix}{v}{suffix}"))
            .collect()
    };
    match name {
        "String" => vec!["String::new()".into(), "\"xyzzy\".into()".into()],
        "Result" => wrap("Ok(", ")"),
        "Option" => std::iter::once("None".to_owned()).chain(wrap("Some(", ")")).collect(),
        "Vec" => std::iter::once("vec![]".to_owned()).chain(wrap("vec![", "]")).collect(),
        "Box" | "Cell" | "RefCell" | "Arc" | "Rc" | "Mutex" => wrap(&format!("{name}::new("), ")"),
        "Cow" => first()
            .unwrap_or_else(default)
            .into_iter()
            .flat_map(|v| [format!("Cow::Borrowed({v})"), format!("Cow::Owned({v}.to_owned())")])
            .collect(),
        "HashSet" | "BTreeSet" | "VecDeque" | "BinaryHeap" | "LinkedList" => {
            std::iter::once(format!("{name}::new()"))
                .chain(wrap(&format!("{name}::from_iter(["), "])"))
                .collect()
        }
        "HashMap" | "BTreeMap" => {
            let values = |index: usize| {
                arguments
                    .and_then(|a| a.get(index).copied())
                    .map(|a| values_of(a, source))
                    .unwrap_or_else(default)
            };
            let (keys, items) = (values(0), values(1));
            std::iter::once(format!("{name}::new()"))
                .chain(keys.iter().flat_map(|k| {
                    items.iter().map(move |v| format!("{name}::from_iter([({k}, {v})])"))
                }))
                .collect()
        }
        name if name.starts_with("NonZeroI") => {
            vec!["1.try_into().unwrap()".into(), "(-1).try_into().unwrap()".into()]
        }
        name if name.starts_with("NonZero") => vec!["1.try_into().unwrap()".into()],
        _ => default(),
    }
}

fn tuple(ty: Node<'_>, source: &str) -> Vec<String> {
    let mut cursor = ty.walk();
    let elements: Vec<Vec<String>> =
        ty.named_children(&mut cursor).map(|element| values_of(element, source)).collect();
    let mut combinations = vec![Vec::<String>::new()];
    for values in &elements {
        combinations = combinations
            .iter()
            .flat_map(|partial| {
                values.iter().map(move |v| {
                    let mut next = partial.clone();
                    next.push(v.clone());
                    next
                })
            })
            .take(MAX_VALUES)
            .collect();
    }
    combinations.into_iter().map(|c| format!("({})", c.join(", "))).collect()
}

/// `impl Iterator<Item = T>`: empty, or one item; no value is known for
/// any other `impl Trait`.
fn abstract_type(ty: Node<'_>, source: &str) -> Vec<String> {
    let Some(bound) = ty.child_by_field_name("trait") else { return Vec::new() };
    let base = bound.child_by_field_name("type").unwrap_or(bound);
    let name = last_segment(base, source);
    if !matches!(name, "Iterator" | "DoubleEndedIterator" | "ExactSizeIterator") {
        return Vec::new();
    }
    let item = bound.child_by_field_name("type_arguments").and_then(|list| {
        let mut cursor = list.walk();
        let binding = list.named_children(&mut cursor).find(|n| n.kind() == "type_binding");
        binding.and_then(|b| b.child_by_field_name("type"))
    });
    std::iter::once("::std::iter::empty()".to_owned())
        .chain(
            item.map(|item| values_of(item, source))
                .unwrap_or_else(default)
                .into_iter()
                .map(|v| format!("::std::iter::once({v})")),
        )
        .collect()
}

fn last_segment<'a>(ty: Node<'_>, source: &'a str) -> &'a str {
    let name = ty.child_by_field_name("name").unwrap_or(ty);
    text(name, source)
}

fn text<'a>(node: Node<'_>, source: &'a str) -> &'a str {
    source.get(node.byte_range()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values for `-> TYPE`.
    fn returns(ty: &str) -> Vec<String> {
        values(ty).expect("the function returns")
    }

    fn values(ty: &str) -> Option<Vec<String>> {
        let source = format!("fn f() -> {ty} {{}}");
        let tree = super::super::parse(&source).expect("parses");
        let function = tree.root_node().child(0).expect("fn");
        replacements(function.child_by_field_name("return_type"), &source)
    }

    #[test]
    fn primitives_strings_and_unit_follow_cargo_mutants() {
        assert_eq!(returns("bool"), ["true", "false"]);
        assert_eq!(returns("u32"), ["0", "1"]);
        assert_eq!(returns("i64"), ["0", "1", "-1"]);
        assert_eq!(returns("f64"), ["0.0", "1.0", "-1.0"]);
        assert_eq!(returns("String"), ["String::new()", "\"xyzzy\".into()"]);
        assert_eq!(returns("&'static str"), ["\"\"", "\"xyzzy\""]);
        assert_eq!(returns("()"), ["()"]);
        assert_eq!(values("!"), None, "a function that never returns is left alone");
    }

    #[test]
    fn containers_wrap_the_values_of_what_they_hold() {
        assert_eq!(returns("Result<bool, E>"), ["Ok(true)", "Ok(false)"]);
        assert_eq!(returns("Result<(), String>"), ["Ok(())"]);
        assert_eq!(returns("Option<u8>"), ["None", "Some(0)", "Some(1)"]);
        assert_eq!(
            returns("Vec<String>"),
            ["vec![]", "vec![String::new()]", "vec![\"xyzzy\".into()]"]
        );
        assert_eq!(returns("Box<bool>"), ["Box::new(true)", "Box::new(false)"]);
        assert_eq!(returns("std::sync::Arc<u8>"), ["Arc::new(0)", "Arc::new(1)"]);
        assert_eq!(
            returns("HashSet<u8>"),
            ["HashSet::new()", "HashSet::from_iter([0])", "HashSet::from_iter([1])"]
        );
        assert_eq!(
            returns("BTreeMap<bool, u8>")[..2],
            ["BTreeMap::new()".to_owned(), "BTreeMap::from_iter([(true, 0)])".to_owned()]
        );
        assert_eq!(returns("NonZeroUsize"), ["1.try_into().unwrap()"]);
    }

    #[test]
    fn references_slices_tuples_arrays_and_iterators() {
        assert_eq!(returns("&u8"), ["Box::leak(Box::new(0))", "Box::leak(Box::new(1))"]);
        assert_eq!(
            returns("&mut bool"),
            ["Box::leak(Box::new(true))", "Box::leak(Box::new(false))"]
        );
        assert_eq!(
            returns("&[u8]"),
            ["Vec::leak(Vec::new())", "Vec::leak(vec![0])", "Vec::leak(vec![1])"]
        );
        assert_eq!(returns("(bool, u8)"), ["(true, 0)", "(true, 1)", "(false, 0)", "(false, 1)"]);
        assert_eq!(returns("[u8; 3]"), ["[0; 3]", "[1; 3]"]);
        assert_eq!(
            returns("impl Iterator<Item = u8>"),
            ["::std::iter::empty()", "::std::iter::once(0)", "::std::iter::once(1)"]
        );
        assert_eq!(returns("Self"), ["Default::default()"]);
        assert!(returns("impl Display").is_empty(), "nothing known builds one");
        assert_eq!(
            returns("Cow<'static, str>"),
            [
                "Cow::Borrowed(\"\")",
                "Cow::Owned(\"\".to_owned())",
                "Cow::Borrowed(\"xyzzy\")",
                "Cow::Owned(\"xyzzy\".to_owned())"
            ]
        );
        assert_eq!(returns("RefCell<bool>"), ["RefCell::new(true)", "RefCell::new(false)"]);
    }
}
