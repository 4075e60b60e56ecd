//! The API's layers, checked: a module may use modules of lower layers and of its own layer,
//! never of a higher one, and no modules use each other in a loop. The check reads the
//! `crate::` paths of every source file (tests excluded), so a new import that breaks the
//! layering fails here, naming the file and line.
//!
//! A request comes in at the top and works its way down:
//! `http`/`ws` -> `guard` -> `schema` -> resolvers (domains) -> `inventory` / `queue_store`
//! -> Postgres / Redis -> publish -> `hub` -> subscribers.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// Every top-level module, by layer, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation",
        &[
            "config",
            "error",
            "money",
            "context",
            "telemetry",
            "db",
            "redis",
            "answers",
            "layout",
            "seed",
            "sale_health",
            "metrics",
            "eta",
        ],
    ),
    (
        "live updates and the queue store",
        &["hub", "queue_store", "live"],
    ),
    ("shared state", &["state", "shed"]),
    (
        "request",
        &["auth", "loaders", "guard", "ws", "sale", "idempotency"],
    ),
    ("seat state", &["inventory"]),
    ("admission control", &["autopilot"]),
    (
        "domains",
        &[
            "accounts", "events", "seats", "queue", "holds", "booking", "payments",
        ],
    ),
    (
        "service",
        &[
            "schema", "http", "sweeper", "startup", "cli", "testing", "layers",
        ],
    ),
];

/// Module -> (used module -> first place it is used).
type Uses = BTreeMap<String, BTreeMap<String, String>>;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top-level names in a `{...}` group that starts at `text[0]`.
fn group_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    let mut at_start = true;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => at_start = true,
            c if depth == 1 && at_start && (c.is_alphanumeric() || c == '_') => {
                let name: String = text[index..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                for _ in 1..name.chars().count() {
                    chars.next();
                }
                names.push(name);
                at_start = false;
            }
            c if !c.is_whitespace() => at_start = false,
            _ => {}
        }
    }
    names
}

/// Which top-level modules each module's code names through `crate::`.
fn uses(src: &Path) -> Uses {
    let mut files = Vec::new();
    source_files(src, &mut files);
    let mut uses = Uses::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let Some(first) = relative.components().next() else {
            continue;
        };
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Unit tests may reach anywhere; the layering is about the code that ships.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let entry = uses.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let line_start = code[..at].rfind('\n').map_or(0, |newline| newline + 1);
            if code[line_start..at].contains("//") {
                continue;
            }
            let rest = &code[at + "crate::".len()..];
            let names = if rest.starts_with('{') {
                group_names(rest)
            } else {
                vec![
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect(),
                ]
            };
            let line_number = code[..at].matches('\n').count() + 1;
            for name in names {
                if name != module && layer_of(&name).is_some() {
                    entry
                        .entry(name)
                        .or_insert_with(|| format!("{}:{line_number}", relative.display()));
                }
            }
        }
    }
    uses
}

/// Strongly connected groups of more than one module: import loops.
fn loops(uses: &Uses) -> Vec<BTreeSet<String>> {
    let modules: Vec<&String> = uses.keys().collect();
    let reaches = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(module) = stack.pop() {
            for next in uses.get(&module).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = modules
        .iter()
        .map(|module| (*module, reaches(module)))
        .collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for module in &modules {
        let group: BTreeSet<String> = modules
            .iter()
            .filter(|other| reach[module].contains(**other) && reach[**other].contains(*module))
            .map(|other| (*other).clone())
            .collect();
        if group.len() > 1 && !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_has_a_layer() {
    let uses = uses(&src_dir());
    let unplaced: Vec<&String> = uses
        .keys()
        .filter(|module| layer_of(module).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "place these modules in LAYERS: {unplaced:?}"
    );
}

#[test]
fn no_module_uses_a_higher_layer() {
    let uses = uses(&src_dir());
    let mut upward = Vec::new();
    for (module, used) in &uses {
        let Some(own) = layer_of(module) else {
            continue;
        };
        for (name, place) in used {
            if layer_of(name).is_some_and(|layer| layer > own) {
                upward.push(format!(
                    "{module} ({}) uses {name} ({}) at {place}",
                    LAYERS[own].0,
                    LAYERS[layer_of(name).unwrap_or(0)].0
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layering:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_modules_import_each_other_in_a_loop() {
    let uses = uses(&src_dir());
    let found = loops(&uses);
    let explain: Vec<String> = found
        .iter()
        .map(|group| {
            group
                .iter()
                .flat_map(|module| {
                    uses[module]
                        .iter()
                        .filter(|(name, _)| group.contains(*name))
                        .map(move |(name, place)| format!("  {module} -> {name} at {place}"))
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(found.is_empty(), "import loops:\n{}", explain.join("\n\n"));
}

#[test]
fn the_checker_sees_a_loop_and_a_group_spanning_lines() {
    let mut uses = Uses::new();
    uses.entry("a".into())
        .or_default()
        .insert("b".into(), "a.rs:1".into());
    uses.entry("b".into())
        .or_default()
        .insert("a".into(), "b.rs:1".into());
    uses.entry("c".into())
        .or_default()
        .insert("a".into(), "c.rs:1".into());
    assert_eq!(
        loops(&uses),
        vec![BTreeSet::from(["a".to_owned(), "b".to_owned()])]
    );
    assert_eq!(
        group_names("{\n    auth::{Auth, x},\n    error::ApiError,\n    state,\n};"),
        vec!["auth", "error", "state"]
    );
}
