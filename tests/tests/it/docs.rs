//! The docs stay true: every test `docs/design.md` names as proof exists, as an
//! integration test (`module::name`, under `tests/tests/it/`) or a unit test
//! (`path::tests::name`, under `shared/src/`).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn defines(file: &Path, name: &str) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| name == "*" || text.contains(&format!("fn {name}(")))
}

/// Whether `name` (`a::b::f`) is a test of this workspace.
fn exists(name: &str) -> bool {
    let parts: Vec<&str> = name.split("::").collect();
    let (path, test) = parts.split_at(parts.len() - 1);
    let test = test[0];
    if let [module] = path {
        let integration = root().join("tests/tests/it").join(format!("{module}.rs"));
        if integration.exists() {
            return defines(&integration, test);
        }
    }
    let dirs: Vec<&str> = path.iter().copied().filter(|p| *p != "tests").collect();
    let base = root().join("shared/src").join(dirs.join("/"));
    defines(&base.with_extension("rs"), test) || defines(&base.join("mod.rs"), test)
}

#[test]
fn every_test_the_design_names_exists() {
    let design = std::fs::read_to_string(root().join("docs/design.md")).unwrap();
    let mut named = 0;
    // The first cell of each table row names the tests.
    for row in design.lines().filter(|line| line.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap_or_default();
        for name in cell.split('`').skip(1).step_by(2).filter(|n| n.contains("::")) {
            assert!(exists(name), "docs/design.md names `{name}`, which is no test of the workspace");
            named += 1;
        }
    }
    assert!(named >= 60, "only {named} tests named: is the design's table format still read right?");
    assert!(!exists("worker::a_test_nobody_wrote") && !exists("domain::slots::tests::nor_this_one"));
}

/// The relative links of a Markdown text: `[text](target)` whose target is not a
/// URL, without its `#anchor`.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.contains("://") && !target.starts_with('#') && !target.starts_with("mailto:"))
        .map(|target| target.split('#').next().unwrap_or_default().to_string())
        .filter(|target| !target.is_empty())
        .collect()
}

#[test]
fn every_link_of_the_readme_and_the_docs_leads_somewhere() {
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    let mut checked = 0;
    for page in pages.iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        let text = std::fs::read_to_string(page).unwrap();
        for target in relative_links(&text) {
            let resolved = page.parent().unwrap().join(&target);
            assert!(resolved.exists(), "{} links to {target}, which does not exist", page.display());
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} links found: is the link syntax still read right?");
    assert_eq!(relative_links("[a](b.md#x) [c](https://d) [e](#f) [g](../h)"), ["b.md", "../h"]);
}

#[test]
fn every_integration_test_module_is_listed_in_the_testing_doc() {
    let testing = std::fs::read_to_string(root().join("docs/testing.md")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/tests/it")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name == "main.rs" || !name.ends_with(".rs") {
            continue;
        }
        // Named as `it/x.rs`, or beside another module of its row as `x.rs`.
        if !testing.contains(&format!("`it/{name}`")) && !testing.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "docs/testing.md does not list {missing:?}");
}

/// The Rust files below `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_rust_file_is_over_450_lines() {
    let mut files = Vec::new();
    for dir in ["shared", "functions", "lambda-waker", "tests", "devkit", "local", "bench"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 50, "found {} files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > 450).then(|| format!("{} ({lines})", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "over 450 lines: {long:?}");
}
