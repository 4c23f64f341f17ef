//! The layering rule of every service, checked on the sources: the domain
//! (types, the error enum, the use cases) names no framework. GraphQL, REST,
//! serde and the database library live at the edges and in `storage/`.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

const SERVICES: [&str; 3] = ["auth", "event", "attendance"];
/// Crates whose names the domain must not mention, and derives it must not use.
const FORBIDDEN: [&str; 8] =
    ["sea_orm", "sqlx", "async_graphql", "axum", "serde", "Serialize", "Deserialize", "reqwest"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn domain_modules_name_no_framework() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut offences = Vec::new();
    for service in SERVICES {
        let domain = root.join("subgraphs").join(service).join("src/domain");
        let mut files = Vec::new();
        rust_files(&domain, &mut files);
        assert!(!files.is_empty(), "{} has no domain module", domain.display());
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
                if let Some(name) = words.into_iter().find(|w| FORBIDDEN.contains(w)) {
                    offences.push(format!("{}:{}: {name}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(offences.is_empty(), "domain code names a framework:\n{}", offences.join("\n"));
}

/// The longest function body allowed, in lines: a function longer than this
/// does several things, and each deserves a name.
const MAX_FUNCTION_LINES: usize = 90;

/// The lines each function of a Rust source spans, by name (a brace count
/// outside strings and comments: good enough for code formatted by rustfmt).
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let Some(name) = code.split("fn ").nth(1).filter(|_| code.split_whitespace().any(|w| w == "fn")) else {
            continue;
        };
        let name: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let (mut depth, mut opened) = (0i64, false);
        for (end, line) in lines.iter().enumerate().skip(start) {
            let code = line.split("//").next().unwrap_or_default();
            let mut in_string = false;
            for c in code.chars() {
                match c {
                    '"' => in_string = !in_string,
                    '{' if !in_string => (depth, opened) = (depth + 1, true),
                    '}' if !in_string => depth -= 1,
                    _ => {}
                }
            }
            if !opened && code.trim_end().ends_with(';') {
                break;
            }
            if opened && depth <= 0 {
                found.push((name.clone(), start + 1, end - start + 1));
                break;
            }
        }
    }
    found
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["subgraphs", "router", "bench", "xtask", "migration", "query-cost", "client-address", "e2e"] {
        rust_files(&root.join(dir), &mut files);
    }
    let too_long: Vec<String> = files
        .iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "node_modules"))
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            function_lengths(&text)
                .into_iter()
                .filter(|(_, _, length)| *length > MAX_FUNCTION_LINES)
                .map(move |(name, line, length)| format!("{}:{line}: {name} ({length} lines)", file.display()))
        })
        .collect();
    assert!(too_long.is_empty(), "functions over {MAX_FUNCTION_LINES} lines:\n{}", too_long.join("\n"));
}

#[test]
fn function_lengths_are_measured_by_their_braces() {
    let text = "fn a() {\n    let s = \"}\";\n}\n\npub(crate) async fn b(x: u8) -> u8 {\n    x\n}\nfn c();\n";
    assert_eq!(function_lengths(text), [("a".to_owned(), 1, 3), ("b".to_owned(), 5, 3)]);
}
