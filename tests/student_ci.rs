//! The CI files of the student template (`student-template/.github/workflows/
//! grade.yml` and `student-template/.gitlab-ci.yml`) parse, grade the
//! template's folder with sockgrade and publish its JUnit report. Nothing
//! runs here: the files only run on GitHub and GitLab.

use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// The GitHub workflow's steps, in order: a renamed or reordered step makes
/// the instructions in `student-template/CI.md` wrong.
const GITHUB_STEPS: [&str; 7] = [
    "Check out",
    "Install Python",
    "Cache sockgrade",
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
    for event in ["push", "pull_request", "workflow_dispatch"] {
        // `push:` with nothing after it maps to null, and is still a key.
        assert!(
            events.contains_key(&Yaml::String(event.to_owned())),
            "the workflow should run on {event}"
        );
    }
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

#[test]
fn the_github_workflow_installs_sockgrade_from_the_instructors_repository_once() {
    let workflow = load(".github/workflows/grade.yml");
    assert!(
        text(&workflow["env"]["SOCKGRADE_REPO"], "env.SOCKGRADE_REPO").contains("sockgrade"),
        "the instructor sets SOCKGRADE_REPO at the top of the workflow"
    );
    let install = step(&workflow, "Install sockgrade");
    let run = text(&install["run"], "the install step's run");
    assert!(
        run.contains(r#"cargo install --locked --git "$SOCKGRADE_REPO" sockgrade"#),
        "{run}"
    );

    let cache = step(&workflow, "Cache sockgrade");
    assert!(text(&cache["uses"], "uses").starts_with("actions/cache@"));
    assert!(text(&cache["with"]["path"], "the cached path").starts_with("~/.cargo/bin"));
    assert!(text(&cache["with"]["key"], "the cache key").contains("env.SOCKGRADE_REPO"));
    // A cached binary that cargo does not know about makes `cargo install`
    // refuse to overwrite it: the install must be skipped on a hit.
    let id = text(&cache["id"], "the cache step's id");
    let condition = text(&install["if"], "the install step's if");
    assert!(
        condition.contains(&format!("steps.{id}.outputs.cache-hit")),
        "{condition}"
    );
}

#[test]
fn the_gitlab_job_grades_every_push_and_reports_junit() {
    let pipeline = load(".gitlab-ci.yml");
    let job = &pipeline["grade"];
    assert!(!job.is_badvalue(), "the pipeline should have a job `grade`");
    assert!(text(&job["image"], "image").starts_with("rust:"));

    let script: Vec<&str> = list(&job["script"], "grade.script")
        .iter()
        .map(|line| text(line, "a script line"))
        .collect();
    let has = |needle: &str| script.iter().any(|line| line.contains(needle));
    assert!(has("apt-get install") && has("python3"), "{script:#?}");
    assert!(has(r#"--git "$SOCKGRADE_REPO" sockgrade"#), "{script:#?}");
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
