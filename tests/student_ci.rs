//! The CI files of the student template (`student-template/.github/workflows/
//! grade.yml` and `student-template/.gitlab-ci.yml`) parse, run once per
//! change, install a pinned sockgrade without building it, grade the
//! template's folder and publish its JUnit report. Nothing runs here: the
//! files only run on GitHub and GitLab.

use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// The GitHub workflow's steps, in order: a renamed or reordered step makes
/// the instructions in `student-template/CI.md` wrong.
const GITHUB_STEPS: [&str; 6] = [
    "Check out",
    "Install Python",
    "Install sockgrade",
    "Grade",
    "Publish the JUnit report",
    "Upload the results",
];

/// The reports both CI files write and publish.
const JUNIT_FILE: &str = "sockgrade-junit.xml";
const JSON_FILE: &str = "sockgrade-results.json";

fn template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("student-template")
}

/// The one YAML document in a file of the template.
fn load(relative: &str) -> Yaml {
    let path = template().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("could not read {}: {error}", path.display()));
    let mut documents = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()));
    assert_eq!(documents.len(), 1, "{}: one YAML document", path.display());
    documents.remove(0)
}

fn text<'a>(yaml: &'a Yaml, what: &str) -> &'a str {
    yaml.as_str()
        .unwrap_or_else(|| panic!("{what} should be a string, is {yaml:?}"))
}

fn list<'a>(yaml: &'a Yaml, what: &str) -> &'a [Yaml] {
    yaml.as_vec()
        .unwrap_or_else(|| panic!("{what} should be a list, is {yaml:?}"))
}

/// The GitHub workflow's step with this `name:`.
fn step<'a>(workflow: &'a Yaml, name: &str) -> &'a Yaml {
    list(&workflow["jobs"]["grade"]["steps"], "jobs.grade.steps")
        .iter()
        .find(|step| step["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step named {name:?}"))
}

#[test]
fn the_github_workflow_grades_every_push_and_publishes_junit() {
    let workflow = load(".github/workflows/grade.yml");
    // YAML 1.2: `on` is a string key, not the boolean YAML 1.1 made of it.
    let events = workflow["on"]
        .as_hash()
        .unwrap_or_else(|| panic!("`on:` should be a mapping of events"));
    for event in ["push", "workflow_dispatch"] {
        assert!(
            events.contains_key(&Yaml::String(event.to_owned())),
            "the workflow should run on {event}"
        );
    }
    // One run per change: a pull request from a branch of the same
    // repository was graded by the push that updated the branch.
    for twice in ["pull_request", "pull_request_target"] {
        assert!(
            !events.contains_key(&Yaml::String(twice.to_owned())),
            "the workflow should not also run on {twice}: every change would be graded twice"
        );
    }
    assert_eq!(
        workflow["concurrency"]["cancel-in-progress"].as_bool(),
        Some(true),
        "a newer push cancels the grading it supersedes"
    );
    let job = &workflow["jobs"]["grade"];
    assert!(!job.is_badvalue(), "the workflow should have a job `grade`");
    assert_eq!(text(&job["runs-on"], "runs-on"), "ubuntu-latest");

    let names: Vec<&str> = list(&job["steps"], "jobs.grade.steps")
        .iter()
        .map(|step| text(&step["name"], "a step's name"))
        .collect();
    assert_eq!(names, GITHUB_STEPS);

    let grade = text(&step(&workflow, "Grade")["run"], "the Grade step's run");
    assert!(grade.contains("sockgrade grade"), "{grade}");
    assert!(grade.contains(&format!("--junit {JUNIT_FILE}")), "{grade}");
    assert!(grade.contains(&format!("--json {JSON_FILE}")), "{grade}");
    assert!(
        step(&workflow, "Grade")["if"].is_badvalue(),
        "the Grade step runs on every push; its exit code decides the check"
    );

    let publish = step(&workflow, "Publish the JUnit report");
    assert_eq!(text(&publish["if"], "the publish step's if"), "always()");
    assert!(text(&publish["uses"], "uses").starts_with("mikepenz/action-junit-report@"));
    assert_eq!(
        text(&publish["with"]["report_paths"], "report_paths"),
        JUNIT_FILE
    );
    assert_eq!(
        text(&workflow["permissions"]["checks"], "permissions.checks"),
        "write",
        "publishing a check run needs checks: write"
    );

    let upload = step(&workflow, "Upload the results");
    assert_eq!(text(&upload["if"], "the upload step's if"), "always()");
    let paths = text(&upload["with"]["path"], "the uploaded paths");
    assert!(
        paths.contains(JUNIT_FILE) && paths.contains(JSON_FILE),
        "{paths}"
    );
}

/// The version a CI file pins: X.Y.Z.
fn pinned(version: &Yaml, what: &str) -> String {
    let version = text(version, what);
    assert!(
        version.split('.').count() == 3
            && version
                .split('.')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        "{what} should pin one release (X.Y.Z), is {version:?}"
    );
    version.to_string()
}

/// An install that takes a wheel of the pinned version and never builds.
fn assert_installs_the_pinned_wheel(script: &str) {
    assert!(
        script.contains(r#"pip install"#) && script.contains(r#""sockgrade==$SOCKGRADE_VERSION""#),
        "{script}"
    );
    assert!(
        script.contains("--only-binary=sockgrade") || script.contains("--only-binary=:all:"),
        "pip must never fall back to building sockgrade from source: {script}"
    );
    for build in ["cargo", "--git", "rustup", "maturin"] {
        assert!(
            !script.contains(build),
            "the install builds sockgrade ({build}): {script}"
        );
    }
}

#[test]
fn the_github_workflow_installs_the_pinned_sockgrade_without_building_it() {
    let workflow = load(".github/workflows/grade.yml");
    pinned(
        &workflow["env"]["SOCKGRADE_VERSION"],
        "env.SOCKGRADE_VERSION",
    );
    let install = step(&workflow, "Install sockgrade");
    assert_installs_the_pinned_wheel(text(&install["run"], "the install step's run"));
    let steps = list(&workflow["jobs"]["grade"]["steps"], "jobs.grade.steps");
    for step in steps {
        let uses = step["uses"].as_str().unwrap_or_default();
        assert!(
            !uses.contains("rust-toolchain") && !uses.starts_with("actions/cache"),
            "no Rust and no cache to fill: {uses}"
        );
    }
}

#[test]
fn both_ci_files_pin_the_release_this_repository_makes() {
    let github = pinned(
        &load(".github/workflows/grade.yml")["env"]["SOCKGRADE_VERSION"],
        "env.SOCKGRADE_VERSION",
    );
    let gitlab = pinned(
        &load(".gitlab-ci.yml")["variables"]["SOCKGRADE_VERSION"],
        "variables.SOCKGRADE_VERSION",
    );
    assert_eq!(github, gitlab, "both CI files pin the same sockgrade");
    assert_eq!(
        github,
        env!("CARGO_PKG_VERSION"),
        "a release bumps the templates' pinned version with Cargo.toml's"
    );
}

#[test]
fn the_gitlab_job_grades_every_push_and_reports_junit() {
    let pipeline = load(".gitlab-ci.yml");
    let job = &pipeline["grade"];
    assert!(!job.is_badvalue(), "the pipeline should have a job `grade`");
    assert!(text(&job["image"], "image").starts_with("python:"));
    pinned(
        &pipeline["variables"]["SOCKGRADE_VERSION"],
        "variables.SOCKGRADE_VERSION",
    );

    let script: Vec<&str> = list(&job["script"], "grade.script")
        .iter()
        .map(|line| text(line, "a script line"))
        .collect();
    assert_installs_the_pinned_wheel(&script.join("\n"));
    // One pipeline per change: not a branch pipeline and a merge
    // request pipeline for the same push.
    let rules: Vec<String> = list(&pipeline["workflow"]["rules"], "workflow.rules")
        .iter()
        .map(|rule| {
            format!(
                "{} {}",
                rule["if"].as_str().unwrap_or(""),
                rule["when"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        rules
            .iter()
            .any(|rule| rule.contains("merge_request_event")),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|rule| rule.contains("$CI_OPEN_MERGE_REQUESTS") && rule.ends_with("never")),
        "a branch with an open merge request gets no second pipeline: {rules:?}"
    );
    let grade = script
        .iter()
        .find(|line| line.contains("sockgrade grade"))
        .unwrap_or_else(|| panic!("no `sockgrade grade` in {script:#?}"));
    assert!(grade.contains(&format!("--junit {JUNIT_FILE}")), "{grade}");
    assert!(grade.contains(&format!("--json {JSON_FILE}")), "{grade}");

    let artifacts = &job["artifacts"];
    assert_eq!(text(&artifacts["when"], "artifacts.when"), "always");
    assert_eq!(
        text(&artifacts["reports"]["junit"], "artifacts.reports.junit"),
        JUNIT_FILE
    );
    let paths: Vec<&str> = list(&artifacts["paths"], "artifacts.paths")
        .iter()
        .map(|path| text(path, "an artifact path"))
        .collect();
    assert!(
        paths.contains(&JUNIT_FILE) && paths.contains(&JSON_FILE),
        "{paths:?}"
    );
}

#[test]
fn both_ci_files_grade_the_templates_python_folder() {
    let workflow = load(".github/workflows/grade.yml");
    let pipeline = load(".gitlab-ci.yml");
    let github = text(&workflow["env"]["SUBMISSION_DIR"], "env.SUBMISSION_DIR");
    let gitlab = text(
        &pipeline["variables"]["SUBMISSION_DIR"],
        "variables.SUBMISSION_DIR",
    );
    assert_eq!(github, "python");
    assert_eq!(gitlab, "python");
    assert!(
        template().join(github).join("client-1.py").is_file(),
        "the template's programs should be in {github}/"
    );
    let grade = text(&step(&workflow, "Grade")["run"], "the Grade step's run");
    assert!(
        grade.contains(r#"sockgrade grade "$SUBMISSION_DIR""#),
        "{grade}"
    );
}
