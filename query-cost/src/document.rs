//! What a document may hold at all, checked before anything is planned or
//! executed: bracket nesting in the raw text, fields written (aliases
//! included), root fields, and directives per selection. The router's limits
//! plugin and every subgraph (over HTTP and on the live socket) apply these
//! same limits, so nothing the subgraphs would refuse is planned and sent.

use std::collections::HashSet;

use async_graphql_parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Brackets open at once in the raw text; checked before parsing, so a
/// megabyte of `{` cannot exhaust a parser's stack. (async-graphql's parser
/// refuses selection sets nested deeper than this too.)
pub const MAX_NESTING: usize = 64;
/// Field selections written in one document, aliases included: a document of
/// thousands of aliases is refused before it is validated.
pub const MAX_FIELDS: usize = 1_000;
/// Root fields of one operation.
pub const MAX_ROOT_FIELDS: usize = 50;
/// Directives on one field or fragment.
pub const MAX_DIRECTIVES: usize = 8;

/// Why a document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentRefusal {
    TooNested { depth: usize },
    TooManyFields { fields: usize },
    TooManyRootFields { fields: usize },
    FragmentsTooDeep,
    TooManyDirectives { directives: usize },
}

impl std::fmt::Display for DocumentRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocumentRefusal::TooNested { depth } => {
                write!(f, "the document nests {depth} levels deep; at most {MAX_NESTING} are accepted")
            }
            DocumentRefusal::TooManyFields { fields } => {
                write!(f, "a document may select at most {MAX_FIELDS} fields, aliases included ({fields} given)")
            }
            DocumentRefusal::TooManyRootFields { fields } => {
                write!(f, "an operation may select at most {MAX_ROOT_FIELDS} root fields ({fields} given)")
            }
            DocumentRefusal::FragmentsTooDeep => write!(f, "fragments may nest at most {MAX_NESTING} levels deep"),
            DocumentRefusal::TooManyDirectives { directives } => {
                write!(f, "a selection may carry at most {MAX_DIRECTIVES} directives ({directives} given)")
            }
        }
    }
}

/// Refuses a document whose raw text nests brackets deeper than [`MAX_NESTING`].
pub fn check_nesting(query: &str) -> Result<(), DocumentRefusal> {
    match nesting_depth(query) {
        depth if depth > MAX_NESTING => Err(DocumentRefusal::TooNested { depth }),
        _ => Ok(()),
    }
}

/// The deepest bracket nesting of a GraphQL document, outside strings and comments.
pub fn nesting_depth(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Refuses a parsed document that writes too many fields, selects too many
/// root fields in an operation, or puts too many directives on a selection.
/// Fragments count where they are defined, whether or not they are spread.
pub fn check_selections(document: &ExecutableDocument) -> Result<(), DocumentRefusal> {
    let mut fields = 0usize;
    for fragment in document.fragments.values() {
        fields += count_fields(&fragment.node.selection_set.node)?;
    }
    for (_, operation) in document.operations.iter() {
        let selections = &operation.node.selection_set.node;
        let root_fields = count_root_fields(selections, document)?;
        if root_fields > MAX_ROOT_FIELDS {
            return Err(DocumentRefusal::TooManyRootFields { fields: root_fields });
        }
        fields += count_fields(selections)?;
    }
    if fields > MAX_FIELDS {
        return Err(DocumentRefusal::TooManyFields { fields });
    }
    Ok(())
}

fn check_directives(directives: usize) -> Result<(), DocumentRefusal> {
    match directives {
        n if n > MAX_DIRECTIVES => Err(DocumentRefusal::TooManyDirectives { directives: n }),
        _ => Ok(()),
    }
}

/// Fields written in a selection set (fragment spreads count where
/// defined); refuses a selection with too many directives on the way.
fn count_fields(set: &SelectionSet) -> Result<usize, DocumentRefusal> {
    let mut fields = 0;
    for item in &set.items {
        fields += match &item.node {
            Selection::Field(field) => {
                check_directives(field.node.directives.len())?;
                1 + count_fields(&field.node.selection_set.node)?
            }
            Selection::InlineFragment(fragment) => {
                check_directives(fragment.node.directives.len())?;
                count_fields(&fragment.node.selection_set.node)?
            }
            Selection::FragmentSpread(spread) => {
                check_directives(spread.node.directives.len())?;
                0
            }
        };
    }
    Ok(fields)
}

/// Root fields, looking through fragments. This runs before any validation,
/// so it bounds the depth of spreads itself: a chain of fragments, each
/// spreading the next, nests no brackets, and following one of thousands
/// unchecked would overflow the stack. A fragment spread twice (or into
/// itself, which validation refuses later) is counted once.
fn count_root_fields(set: &SelectionSet, document: &ExecutableDocument) -> Result<usize, DocumentRefusal> {
    fn walk<'a>(
        set: &'a SelectionSet,
        document: &'a ExecutableDocument,
        seen: &mut HashSet<&'a str>,
        depth: usize,
    ) -> Result<usize, DocumentRefusal> {
        if depth > MAX_NESTING {
            return Err(DocumentRefusal::FragmentsTooDeep);
        }
        let mut fields = 0;
        for item in &set.items {
            fields += match &item.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(fragment) => {
                    walk(&fragment.node.selection_set.node, document, seen, depth + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match document.fragments.get(name) {
                        Some(fragment) if seen.insert(name) => {
                            walk(&fragment.node.selection_set.node, document, seen, depth + 1)?
                        }
                        _ => 0,
                    }
                }
            };
        }
        Ok(fields)
    }
    walk(set, document, &mut HashSet::new(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits_of(query: &str) -> Result<(), DocumentRefusal> {
        check_selections(&async_graphql_parser::parse_query(query).expect("a valid document"))
    }

    #[test]
    fn selection_limits_count_aliases_root_fields_fragments_and_directives() {
        let fields = |n: usize| (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" ");
        assert!(limits_of(&format!("{{ {} }}", fields(MAX_ROOT_FIELDS))).is_ok());
        let too_many_roots = limits_of(&format!("{{ {} }}", fields(MAX_ROOT_FIELDS + 1))).unwrap_err();
        assert!(too_many_roots.to_string().contains("root fields"), "{too_many_roots}");
        // Root fields reached through a fragment count as root fields.
        let spread = format!("{{ ...F }} fragment F on Query {{ {} }}", fields(MAX_ROOT_FIELDS + 1));
        assert!(limits_of(&spread).unwrap_err().to_string().contains("root fields"));
        // Nested fields count towards the document's total.
        let wide =
            format!("{{ me {{ {} }} }}", (0..MAX_FIELDS).map(|i| format!("e{i}: email")).collect::<Vec<_>>().join(" "));
        let too_wide = limits_of(&wide).unwrap_err();
        assert!(too_wide.to_string().contains("aliases included"), "{too_wide}");
        assert!(limits_of("{ me { email name } }").is_ok());
        let skips = |n: usize| std::iter::repeat_n("@skip(if: false)", n).collect::<Vec<_>>().join(" ");
        assert!(limits_of(&format!("{{ me {} {{ id }} }}", skips(MAX_DIRECTIVES))).is_ok());
        let refused = limits_of(&format!("{{ me {} {{ id }} }}", skips(MAX_DIRECTIVES + 1))).unwrap_err();
        assert_eq!(refused, DocumentRefusal::TooManyDirectives { directives: MAX_DIRECTIVES + 1 });
    }

    /// Fragments spreading each other nest no brackets; a chain of thousands
    /// is refused without following it to the end (which would overflow the stack).
    #[test]
    fn a_long_chain_of_fragments_is_refused() {
        let chain = |n: usize| {
            let fragments: String = (0..n).map(|i| format!(" fragment f{i} on Query {{ ...f{} }}", i + 1)).collect();
            format!("{{ ...f0 }}{fragments} fragment f{n} on Query {{ __typename }}")
        };
        assert!(limits_of(&chain(MAX_NESTING - 1)).is_ok());
        assert_eq!(limits_of(&chain(50_000)).unwrap_err(), DocumentRefusal::FragmentsTooDeep);
        // Spread side by side, many fragments are fine for this check (the field count refuses them).
        let wide: String = (0..20_000).map(|i| format!(" fragment w{i} on Query {{ __typename }}")).collect();
        let spreads: String = (0..20_000).map(|i| format!(" ...w{i}")).collect();
        let refused = limits_of(&format!("{{{spreads} }}{wide}")).unwrap_err();
        assert!(matches!(refused, DocumentRefusal::TooManyRootFields { fields: 20_000 }), "{refused}");
    }

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        assert_eq!(nesting_depth("{ a { b(x: [1]) } }"), 4);
        assert_eq!(nesting_depth(r#"{ a(s: "{{{{ \" {{") }"#), 2);
        assert_eq!(nesting_depth("{ a # {{{{{\n }"), 1);
        assert_eq!(nesting_depth(r#"{ a(s: """ {{{ \""" {{ """) }"#), 2);
        assert_eq!(nesting_depth(&"{".repeat(100_000)), 100_000);
        assert_eq!(nesting_depth("\"unterminated {{{"), 0);
        assert!(check_nesting(&format!("{}{}", "{ a ".repeat(MAX_NESTING), "}".repeat(MAX_NESTING))).is_ok());
        assert_eq!(check_nesting(&"{".repeat(MAX_NESTING + 1)), Err(DocumentRefusal::TooNested { depth: 65 }));
    }
}
