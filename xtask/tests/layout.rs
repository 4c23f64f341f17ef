//! The layering rule of every service, checked on the sources: the domain
//! (types, the error enum, the use cases) names no framework. GraphQL, REST,
//! serde and the database library live at the edges and in `storage/`.

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
