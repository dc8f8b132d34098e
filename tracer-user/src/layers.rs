//! The crate's layering, checked: a top-level module may only name
//! (`crate::x`) the modules listed before it in [`LAYERS`], and inside a
//! folder the sibling files name each other without a cycle. A new import
//! that goes up a layer, or a new cycle, fails this test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest first. A module may import only modules
/// before it.
const LAYERS: &[&str] = &["kernel", "model", "render", "sink", "launch", "pipeline", "metrics", "privilege", "cli", "config", "view"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (doc links name modules too).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The module paths (`a::b::c`, from `crate::`) `code` names, with
/// `use crate::{a::b, c}` groups expanded one level.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let ident = |s: &str| s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).next().unwrap_or("").to_string();
    let split = |s: String| s.split("::").filter(|p| !p.is_empty()).map(str::to_string).collect::<Vec<_>>();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `tracer_crate::`, not ours
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                paths.push(split(ident(item.trim())));
            }
        } else {
            let head = ident(rest);
            // `crate::a::{b, c}`: the group's members are one level down.
            let after = &rest[head.len()..];
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    paths.push(split(format!("{head}{}", ident(item.trim()))));
                }
            } else {
                paths.push(split(head));
            }
        }
    }
    paths
}

/// For a file under `src/`: its top-level module and, if it sits in a
/// folder, its name inside that folder (`mod.rs`: the folder itself).
fn place(rel: &Path) -> (String, Option<String>) {
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    let sub = parts.get(1).filter(|s| parts.len() > 1 && *s != "mod").cloned();
    (parts[0].clone(), sub)
}

#[test]
fn top_level_modules_import_only_lower_layers() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src()).unwrap();
        let (top, _) = place(rel);
        if matches!(top.as_str(), "lib" | "main" | "bin" | "layers") {
            continue;
        }
        let own = rank(&top).unwrap_or_else(|| panic!("{top} is not in LAYERS: give it a place"));
        for p in crate_paths(&code(f)) {
            let Some(to) = p.first() else { continue };
            if let Some(r) = rank(to)
                && r > own
            {
                wrong.push(format!("{} imports crate::{} (a higher layer)", rel.display(), p.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn files_inside_a_folder_import_each_other_without_a_cycle() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    // folder → file → siblings it names
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(src()).unwrap();
        let (top, Some(sub)) = place(rel) else { continue };
        let code = code(f);
        let mut names: BTreeSet<String> = BTreeSet::new();
        for p in crate_paths(&code) {
            if p.first() == Some(&top)
                && let Some(s) = p.get(1)
            {
                names.insert(s.clone());
            }
        }
        for (i, _) in code.match_indices("super::") {
            let s: String = code[i + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.insert(s);
        }
        names.remove(&sub);
        graph.entry(top).or_default().entry(sub).or_default().extend(names);
    }
    for (folder, g) in &graph {
        let g: BTreeMap<&String, Vec<&String>> = g.iter().map(|(f, to)| (f, to.iter().filter(|t| g.contains_key(*t)).collect())).collect();
        // Depth-first search for a back edge.
        fn visit<'a>(n: &'a String, g: &BTreeMap<&'a String, Vec<&'a String>>, path: &mut Vec<&'a String>, done: &mut BTreeSet<&'a String>) -> Option<String> {
            if let Some(i) = path.iter().position(|p| *p == n) {
                let cycle: Vec<&str> = path[i..].iter().chain([&n]).map(|s| s.as_str()).collect();
                return Some(cycle.join(" → "));
            }
            if !done.insert(n) {
                return None;
            }
            path.push(n);
            for &t in &g[n] {
                if let Some(c) = visit(t, g, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        for n in g.keys() {
            let mut path = Vec::new();
            if let Some(c) = visit(n, &g, &mut path, &mut done) {
                panic!("import cycle in {folder}/: {c}");
            }
        }
    }
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    assert_eq!(
        crate_paths("use crate::{model::decode::Event, render};\nlet x = crate::sink::open(a);\nuse crate::kernel::{load, btf};"),
        vec![vec!["model", "decode", "Event"], vec!["render"], vec!["sink", "open"], vec!["kernel", "load"], vec!["kernel", "btf"]]
    );
    assert_eq!(place(Path::new("render/json_line.rs")), ("render".into(), Some("json_line".into())));
    assert_eq!(place(Path::new("render/mod.rs")), ("render".into(), None));
    assert_eq!(place(Path::new("cli.rs")), ("cli".into(), None));
}
