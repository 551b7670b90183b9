//! `openapi.yaml` against the code: every route the server registers is in the spec and
//! every operation of the spec is served, with the security the spec declares.
//!
//! The static half reads the route table out of `src/api/**/*.rs` (each
//! `resource("/path")` and the `.route(web::METHOD()…)` calls chained on it) and compares
//! it with the spec's `paths`, path parameter names aside (`{id}` = `{planId}`). It also
//! checks that every `$ref` of the spec resolves and every path parameter is declared.
//! The served half calls every operation of the spec without a token: protected
//! operations must answer 401, public ones 2xx or a 4xx other than 401; never 404/405.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::json;
use serde_norway::Value as Yaml;

use crate::backend_tests;
use crate::common::TestApp;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_spec() -> Yaml {
    let path = root().join("openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("openapi.yaml readable");
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("openapi.yaml is not valid YAML: {e}"))
}

/// `/rating_plans/{planId}/rates` → `/rating_plans/{}/rates` (also drops actix regexes,
/// `{id:\d+}`, and a trailing slash).
fn normalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

// ---------------------------------------------------------------------------------------
// The route table in the source

/// Where the string, raw string or char literal starting at `b[i]` ends (index after
/// it), or `None` when no literal starts there (a lifetime `'a` is not one).
fn literal_end(b: &[char], i: usize) -> Option<usize> {
    let c = *b.get(i)?;
    let next = b.get(i + 1).copied();
    if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(b, i) {
        let mut j = i + 1;
        let mut hashes = 0;
        while b.get(j) == Some(&'#') {
            hashes += 1;
            j += 1;
        }
        if b.get(j) != Some(&'"') {
            return None;
        }
        j += 1;
        while j < b.len() {
            if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                return Some(j + 1 + hashes);
            }
            j += 1;
        }
        Some(b.len())
    } else if c == '"' {
        let mut j = i + 1;
        while j < b.len() && b[j] != '"' {
            if b[j] == '\\' {
                j += 1;
            }
            j += 1;
        }
        Some((j + 1).min(b.len()))
    } else if c == '\'' {
        if next == Some('\\') {
            (i + 2..b.len()).find(|&j| b[j] == '\'').map(|j| j + 1)
        } else if b.get(i + 2) == Some(&'\'') {
            Some(i + 3)
        } else {
            None
        }
    } else {
        None
    }
}

/// Rust source with comments blanked out (literals kept intact), so a commented-out or
/// documented `resource("…")` does not count.
fn strip_comments(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let next = b.get(i + 1).copied();
        if let Some(end) = literal_end(&b, i) {
            out.extend(&b[i..end]);
            i = end;
        } else if b[i] == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if b[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
            out.push(' ');
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// The string literal starting at `b[i] == '"'`: (its text, index after it).
fn string_literal(b: &[char], mut i: usize) -> Option<(String, usize)> {
    if b.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    let mut text = String::new();
    while i < b.len() && b[i] != '"' {
        if b[i] == '\\' {
            i += 1;
        }
        text.push(*b.get(i)?);
        i += 1;
    }
    (i < b.len()).then_some((text, i + 1))
}

fn skip_ws(b: &[char], mut i: usize) -> usize {
    while i < b.len() && b[i].is_whitespace() {
        i += 1;
    }
    i
}

fn starts_with_at(b: &[char], i: usize, pat: &str) -> bool {
    pat.chars()
        .enumerate()
        .all(|(k, p)| b.get(i + k) == Some(&p))
}

/// Routes registered in one source file: `resource("/p")` (or `web::resource("/p")`)
/// followed by `.route(web::get()…)`… up to the end of the expression it is part of.
/// Returns (path, method) pairs and the paths that got no method at all.
fn routes_in(src: &str) -> (Vec<(String, String)>, Vec<String>) {
    let b: Vec<char> = strip_comments(src).chars().collect();
    let mut routes = vec![];
    let mut bare = vec![];
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = literal_end(&b, i) {
            i = end;
            continue;
        }
        // `resource(` as a whole identifier (not `some_resource(`), then a string literal.
        if !starts_with_at(&b, i, "resource") || ident_before(&b, i) {
            i += 1;
            continue;
        }
        let mut j = skip_ws(&b, i + "resource".len());
        if b.get(j) != Some(&'(') {
            i += 1;
            continue;
        }
        j = skip_ws(&b, j + 1);
        let Some((path, after)) = string_literal(&b, j) else {
            i += 1;
            continue;
        };
        // Walk the rest of the expression (from inside `resource(`): stop at a `;` or `,`
        // at depth 0, or at the `)` closing the call this resource is an argument of.
        let mut k = after;
        let mut depth: i32 = 1;
        let mut methods = vec![];
        while k < b.len() {
            if let Some(end) = literal_end(&b, k) {
                k = end;
                continue;
            }
            match b[k] {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth < 0 {
                        break;
                    }
                }
                ';' if depth <= 0 => break,
                ',' if depth <= 0 => break,
                '.' if depth == 0 => {
                    // `.route(web::get()…)` chained on the resource.
                    let r = skip_ws(&b, k + 1);
                    if starts_with_at(&b, r, "route") {
                        let mut m = skip_ws(&b, r + "route".len());
                        if b.get(m) == Some(&'(') {
                            m = skip_ws(&b, m + 1);
                            if starts_with_at(&b, m, "web::") {
                                m += "web::".len();
                            }
                            let name: String = b[m..]
                                .iter()
                                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                                .collect();
                            let after_name = skip_ws(&b, m + name.len());
                            if METHODS.contains(&name.as_str()) && b.get(after_name) == Some(&'(') {
                                methods.push(name);
                            } else {
                                panic!(
                                    "route test scanner: unrecognised `.route(` on {path:?}: \
                                     expected `.route(web::METHOD()…)`; teach tests/api/openapi.rs"
                                );
                            }
                        }
                    }
                }
                _ => {}
            }
            k += 1;
        }
        if methods.is_empty() {
            bare.push(path.clone());
        }
        for m in methods {
            routes.push((path.clone(), m));
        }
        i = after;
    }
    (routes, bare)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// (normalised path, method) → "file: literal path" for every route in `src/api`.
fn code_routes() -> BTreeMap<(String, String), String> {
    let api = root().join("src/api");
    let mut files = vec![];
    rust_files(&api, &mut files);
    let configure = strip_comments(&std::fs::read_to_string(api.join("mod.rs")).unwrap());
    let mut found = BTreeMap::new();
    let mut problems = vec![];
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let (routes, bare) = routes_in(&src);
        for path in bare {
            problems.push(format!(
                "{name}: resource({path:?}) has no .route(web::METHOD()…)"
            ));
        }
        // A module whose routes are never configured serves nothing.
        let module = file.file_stem().unwrap().to_string_lossy().to_string();
        if !routes.is_empty()
            && module != "mod"
            && !configure.contains(&format!("{module}::routes(cfg)"))
        {
            problems.push(format!(
                "{name} registers routes but src/api/mod.rs configure() never calls {module}::routes"
            ));
        }
        for (path, method) in routes {
            let key = (normalise(&path), method.clone());
            if let Some(previous) = found.insert(key, format!("{name}: {path}")) {
                problems.push(format!(
                    "{method} {path} registered twice ({previous} and {name})"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "route table problems:\n  {}",
        problems.join("\n  ")
    );
    found
}

// ---------------------------------------------------------------------------------------
// The spec

struct Operation {
    path: String,
    method: String,
    public: bool,
}

fn get<'a>(v: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    v.as_mapping().and_then(|m| m.get(key))
}

fn spec_operations(spec: &Yaml) -> Vec<Operation> {
    let global_public = get(spec, "security")
        .and_then(Yaml::as_sequence)
        .is_none_or(|s| s.is_empty());
    let paths = get(spec, "paths")
        .and_then(Yaml::as_mapping)
        .expect("openapi.yaml has a `paths` mapping");
    let mut ops = vec![];
    for (path, item) in paths {
        let path = path.as_str().expect("path keys are strings").to_string();
        let item = item
            .as_mapping()
            .unwrap_or_else(|| panic!("paths.{path} is not a mapping"));
        for (key, op) in item {
            let key = key.as_str().unwrap_or_default();
            if !METHODS.contains(&key) {
                continue;
            }
            let public = match get(op, "security") {
                Some(s) => s.as_sequence().is_none_or(|s| s.is_empty()),
                None => global_public,
            };
            ops.push(Operation {
                path: path.clone(),
                method: key.to_string(),
                public,
            });
        }
    }
    ops
}

/// Every `$ref` of the document, with where it is.
fn refs(v: &Yaml, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Yaml::Mapping(m) => {
            for (k, child) in m {
                let k = k.as_str().unwrap_or("?");
                if k == "$ref" {
                    if let Some(target) = child.as_str() {
                        out.push((at.to_string(), target.to_string()));
                    }
                } else {
                    refs(child, &format!("{at}/{k}"), out);
                }
            }
        }
        Yaml::Sequence(s) => {
            for (i, child) in s.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn resolve<'a>(spec: &'a Yaml, pointer: &str) -> Option<&'a Yaml> {
    let mut node = spec;
    for part in pointer.strip_prefix("#/")?.split('/') {
        let part = part.replace("~1", "/").replace("~0", "~");
        node = get(node, &part)?;
    }
    Some(node)
}

/// Follows a `$ref` (one level is all the spec uses for parameters).
fn deref<'a>(spec: &'a Yaml, v: &'a Yaml) -> &'a Yaml {
    match get(v, "$ref").and_then(Yaml::as_str) {
        Some(target) => resolve(spec, target).unwrap_or(v),
        None => v,
    }
}

/// Problems with `$ref`s and path parameters.
fn spec_problems(spec: &Yaml) -> Vec<String> {
    let mut problems = vec![];
    let mut all = vec![];
    refs(spec, "#", &mut all);
    for (at, target) in all {
        if resolve(spec, &target).is_none() {
            problems.push(format!("{at}: $ref {target} does not resolve"));
        }
    }
    let Some(paths) = get(spec, "paths").and_then(Yaml::as_mapping) else {
        return problems;
    };
    for (path, item) in paths {
        let path = path.as_str().unwrap_or_default();
        let names: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split('}').next())
            .collect();
        let declared = |params: Option<&Yaml>| -> BTreeSet<String> {
            params
                .and_then(Yaml::as_sequence)
                .into_iter()
                .flatten()
                .map(|p| deref(spec, p))
                .filter(|p| get(p, "in").and_then(Yaml::as_str) == Some("path"))
                .filter_map(|p| get(p, "name").and_then(Yaml::as_str).map(str::to_string))
                .collect()
        };
        let shared = declared(get(item, "parameters"));
        for (key, op) in item.as_mapping().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            if !METHODS.contains(&key) {
                continue;
            }
            let mut have = shared.clone();
            have.extend(declared(get(op, "parameters")));
            for name in &names {
                if !have.contains(*name) {
                    problems.push(format!(
                        "{key} {path}: path parameter {{{name}}} is not declared"
                    ));
                }
            }
            for extra in have.iter().filter(|h| !names.contains(&h.as_str())) {
                problems.push(format!(
                    "{key} {path}: declares path parameter {extra:?} the path lacks"
                ));
            }
            if get(op, "responses").is_none() {
                problems.push(format!("{key} {path}: no responses"));
            }
        }
    }
    problems
}

#[test]
fn spec_and_route_table_agree() {
    let spec = load_spec();
    assert_eq!(
        get(&spec, "openapi").and_then(Yaml::as_str),
        Some("3.0.3"),
        "openapi.yaml declares OpenAPI 3.0.3"
    );
    let code = code_routes();
    assert!(
        code.len() > 10,
        "the scanner found only {} routes in src/api; it is broken",
        code.len()
    );
    let mut spec_ops = BTreeMap::new();
    for op in spec_operations(&spec) {
        spec_ops.insert(
            (normalise(&op.path), op.method.clone()),
            op.path.to_string(),
        );
    }
    let missing_from_spec: Vec<String> = code
        .iter()
        .filter(|(key, _)| !spec_ops.contains_key(*key))
        .map(|((_, method), at)| format!("{} {at}", method.to_uppercase()))
        .collect();
    let missing_from_code: Vec<String> = spec_ops
        .iter()
        .filter(|(key, _)| !code.contains_key(*key))
        .map(|((_, method), path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    let problems = spec_problems(&spec);
    let mut report = String::new();
    if !missing_from_spec.is_empty() {
        report += &format!(
            "\nroutes the server registers that openapi.yaml lacks ({}):\n  {}\n",
            missing_from_spec.len(),
            missing_from_spec.join("\n  ")
        );
    }
    if !missing_from_code.is_empty() {
        report += &format!(
            "\noperations in openapi.yaml the server does not register ({}):\n  {}\n",
            missing_from_code.len(),
            missing_from_code.join("\n  ")
        );
    }
    if !problems.is_empty() {
        report += &format!(
            "\nopenapi.yaml problems ({}):\n  {}\n",
            problems.len(),
            problems.join("\n  ")
        );
    }
    assert!(
        report.is_empty(),
        "openapi.yaml and the route table are out of sync:\n{report}"
    );
}

#[test]
fn scanner_reads_chained_routes() {
    let src = r#"
        // cfg.service(resource("/commented").route(web::get().to(x)));
        pub fn routes(cfg: &mut web::ServiceConfig) {
            cfg.service(
                resource("/things/{id}")
                    .route(web::get().to(get))
                    .route(web::put().to(|a: (u8, u8)| async { ")" }))
                    .route( web::delete ().to(delete)),
            );
            cfg.service(web::resource("/other").route(web::post().to(create)));
            let s = "resource(\"/not-a-route\")"; let c = '"';
            cfg.service(resource("/last").route(web::patch().to(p)));
        }
    "#;
    let (routes, bare) = routes_in(src);
    let got: Vec<String> = routes.iter().map(|(p, m)| format!("{m} {p}")).collect();
    assert_eq!(
        got,
        [
            "get /things/{id}",
            "put /things/{id}",
            "delete /things/{id}",
            "post /other",
            "patch /last"
        ]
    );
    assert!(bare.is_empty(), "{bare:?}");
    assert_eq!(
        normalise("/rating_plans/{planId}/rates"),
        normalise("/rating_plans/{id}/rates")
    );
    assert_eq!(normalise("/x/{id:[0-9]+}/"), "/x/{}");
}

// ---------------------------------------------------------------------------------------
// The served half

backend_tests!(every_spec_operation_is_served);

async fn every_spec_operation_is_served(app: TestApp) {
    let spec = load_spec();
    let ops = spec_operations(&spec);
    let mut wrong = vec![];
    for op in &ops {
        // Any well-formed id: the request must stop at authentication before the lookup.
        let mut path = String::new();
        let mut rest = op.path.as_str();
        while let Some(start) = rest.find('{') {
            path.push_str(&rest[..start]);
            path.push_str(&uuid::Uuid::new_v4().to_string());
            rest = &rest[start..];
            rest = &rest[rest.find('}').map_or(rest.len(), |e| e + 1)..];
        }
        path.push_str(rest);
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let body = matches!(op.method.as_str(), "post" | "put" | "patch").then(|| json!({}));
        let (status, value) = app.call(method, &path, None, body).await;
        let fine = if op.public {
            status != StatusCode::UNAUTHORIZED
                && (status.is_success() || status.is_client_error())
                && status != StatusCode::NOT_FOUND
                && status != StatusCode::METHOD_NOT_ALLOWED
        } else {
            status == StatusCode::UNAUTHORIZED
        };
        if !fine {
            wrong.push(format!(
                "{} {} ({}): {status} {value}",
                op.method.to_uppercase(),
                op.path,
                if op.public {
                    "public: expected 2xx or a 4xx other than 401/404/405"
                } else {
                    "protected: expected 401"
                }
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "spec operations not served as documented ({} of {}):\n  {}",
        wrong.len(),
        ops.len(),
        wrong.join("\n  ")
    );

    // A method a path does not serve: 405 with `Allow` naming exactly the spec's methods
    // (and HEAD wherever GET is).
    let mut by_path: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for op in &ops {
        let methods = by_path.entry(&op.path).or_default();
        methods.push(op.method.to_uppercase());
        if op.method == "get" {
            methods.push("HEAD".into());
        }
    }
    for (path, mut methods) in by_path {
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let res = app
            .http
            .request(Method::TRACE, app.url(&concrete))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "TRACE {path}");
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        let mut listed: Vec<String> = allow
            .unwrap_or_else(|| panic!("TRACE {path}: 405 without Allow"))
            .split(", ")
            .map(str::to_string)
            .collect();
        listed.sort();
        methods.sort();
        assert_eq!(listed, methods, "Allow of {path}");
    }

    // The document served is the file, as YAML.
    let res = app.http.get(app.url("/openapi.yaml")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/yaml");
    let served = res.text().await.unwrap();
    let on_disk = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    assert!(
        served == on_disk,
        "GET /openapi.yaml serves a different document than openapi.yaml (rebuild?)"
    );
}
