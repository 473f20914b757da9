//! Loading an exercise file: the embedded notebook set, or an instructor's
//! file given with `--exercises`, with errors that name the file, the line
//! and column, and what to change.

use super::{Exercise, Invalid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The notebook's exercises, compiled into the binary.
const EMBEDDED: &str = include_str!("../../fixtures/exercises/notebook.json");

/// How reports name the embedded set.
pub const EMBEDDED_SOURCE: &str = "embedded";

/// The file format: a version and a list of exercises.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ExerciseFile {
    /// The format's version; only 1 exists.
    format: u32,
    exercises: Vec<Exercise>,
}

/// A loaded, validated set of exercises. Serde carries it to a child
/// grader as it was loaded (files are read with [`ExerciseSet::parse`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExerciseSet {
    /// `embedded`, or the path of the file.
    pub source: String,
    /// In the file's order, which is the report's order.
    pub exercises: Vec<Exercise>,
}

/// Why an exercise file could not be used.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid JSON or does not follow the format.
    Syntax {
        /// `embedded` or the file.
        source_name: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde found wrong.
        problem: String,
    },
    /// The file parses but some exercises cannot be played.
    Invalid {
        /// `embedded` or the file.
        source_name: String,
        /// Every problem found.
        problems: Vec<Invalid>,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read { path, .. } => {
                write!(f, "cannot read the exercise file {}", path.display())
            }
            LoadError::Syntax {
                source_name,
                line,
                column,
                problem,
            } => write!(
                f,
                "{source_name}:{line}:{column}: {problem} (see \"Exercise files\" in the README)"
            ),
            LoadError::Invalid {
                source_name,
                problems,
            } => {
                write!(f, "{source_name} has {} problem(s):", problems.len())?;
                for Invalid { place, problem } in problems {
                    write!(f, "\n  {place}: {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl ExerciseSet {
    /// The notebook's exercises, as embedded in the binary.
    pub fn embedded() -> Result<ExerciseSet, LoadError> {
        ExerciseSet::parse(EMBEDDED, EMBEDDED_SOURCE)
    }

    /// Loads and validates an exercise file.
    pub fn from_file(path: &Path) -> Result<ExerciseSet, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ExerciseSet::parse(&text, &path.display().to_string())
    }

    /// Parses and validates exercise JSON; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<ExerciseSet, LoadError> {
        let file: ExerciseFile = serde_json::from_str(text).map_err(|e| LoadError::Syntax {
            source_name: source_name.to_string(),
            line: e.line(),
            column: e.column(),
            problem: strip_position(&e.to_string()),
        })?;
        let mut problems = Vec::new();
        if file.format != 1 {
            problems.push(Invalid {
                place: "format".to_string(),
                problem: format!(
                    "format {} is unknown; this sockgrade reads format 1",
                    file.format
                ),
            });
        }
        if file.exercises.is_empty() {
            problems.push(Invalid {
                place: "exercises".to_string(),
                problem: "the file has no exercises".to_string(),
            });
        }
        for (index, exercise) in file.exercises.iter().enumerate() {
            if file.exercises[..index].iter().any(|e| e.id == exercise.id) {
                problems.push(Invalid {
                    place: format!("exercise {}", exercise.id),
                    problem: "this id is used twice; ids must be unique".to_string(),
                });
            }
            problems.extend(exercise.validate());
        }
        if !problems.is_empty() {
            return Err(LoadError::Invalid {
                source_name: source_name.to_string(),
                problems,
            });
        }
        Ok(ExerciseSet {
            source: source_name.to_string(),
            exercises: file.exercises,
        })
    }

    /// The fixed ports of its exercises, each once, in ascending order.
    pub fn fixed_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.exercises.iter().filter_map(|e| e.port).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// The exercise called `id`, or, failing that, the one whose other
    /// spelling it is (`client_1`, as its file may be named).
    pub fn get(&self, id: &str) -> Option<&Exercise> {
        let exercises = || self.exercises.iter();
        exercises()
            .find(|e| e.id == id)
            .or_else(|| exercises().find(|e| e.answers_to(id)))
    }

    /// The exercise called `id`, or an error that lists the real ones.
    pub fn find(&self, id: &str) -> Result<&Exercise, UnknownExercise> {
        self.get(id).ok_or_else(|| self.unknown(id))
    }

    /// The exercises named in `only`, in the file's order (all of them
    /// when `only` is empty); an id that is not in the set is an error.
    pub fn select<'a>(&'a self, only: &[String]) -> Result<Vec<&'a Exercise>, UnknownExercise> {
        if let Some(id) = only.iter().find(|id| self.get(id).is_none()) {
            return Err(self.unknown(id));
        }
        Ok(self.chosen(only).collect())
    }

    /// The exercises named in `only` (all when it is empty), for callers
    /// whose `only` was checked by [`ExerciseSet::select`] already.
    pub fn chosen<'a, 'b>(&'a self, only: &'b [String]) -> impl Iterator<Item = &'a Exercise> + 'b
    where
        'a: 'b,
    {
        self.exercises.iter().filter(move |e| {
            only.is_empty()
                || only
                    .iter()
                    .any(|name| self.get(name).is_some_and(|named| std::ptr::eq(named, *e)))
        })
    }

    fn unknown(&self, id: &str) -> UnknownExercise {
        UnknownExercise {
            id: id.to_string(),
            known: self.ids(),
        }
    }

    /// The ids, comma-separated, for error messages.
    pub fn ids(&self) -> String {
        let ids: Vec<&str> = self.exercises.iter().map(|e| e.id.as_str()).collect();
        ids.join(", ")
    }
}

/// An exercise id that is not in the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownExercise {
    id: String,
    /// The set's ids, comma-separated.
    known: String,
}

impl std::fmt::Display for UnknownExercise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "there is no exercise `{}`; the exercises are: {}",
            self.id, self.known
        )
    }
}

impl std::error::Error for UnknownExercise {}

/// serde_json appends " at line L column C"; the message puts them first.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::{Matcher, Role, Step};

    /// The ids `only` selects, in the order `select` gives them.
    fn selected(set: &ExerciseSet, only: &[&str]) -> Vec<String> {
        let only: Vec<String> = only.iter().map(|id| id.to_string()).collect();
        let chosen = set.select(&only).unwrap();
        chosen.iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn the_notebooks_fixed_ports_are_its_ten_ports_once_each_client_5_having_none() {
        let set = ExerciseSet::embedded().unwrap();
        assert_eq!(
            set.fixed_ports(),
            [1248, 3456, 5555, 5678, 7890, 8675, 8765, 9876, 34567, 65432]
        );
    }

    #[test]
    fn a_selection_keeps_the_files_order_and_an_unknown_id_lists_the_real_ones() {
        let set = ExerciseSet::embedded().unwrap();
        assert_eq!(
            selected(&set, &["server-1", "client-2"]),
            ["client-2", "server-1"]
        );
        assert_eq!(set.select(&[]).unwrap().len(), 11);
        let error = set
            .select(&["client-9".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "there is no exercise `client-9`; the exercises are: client-demo, client-1"
            ),
            "{error}"
        );
        assert_eq!(set.find("client-9").unwrap_err().to_string(), error);
        assert_eq!(set.find("client-1").unwrap().id, "client-1");
    }

    #[test]
    fn an_exercise_answers_to_the_underscored_name_its_file_may_have() {
        let set = ExerciseSet::embedded().unwrap();
        assert_eq!(set.find("client_1").unwrap().id, "client-1");
        assert_eq!(
            selected(&set, &["server_demo", "client-2"]),
            ["client-2", "server-demo"]
        );
        assert!(set.find("client__1").is_err());
    }

    #[test]
    fn the_embedded_set_has_the_notebooks_eleven_exercises() {
        let set = ExerciseSet::embedded().unwrap();
        assert_eq!(
            set.ids(),
            "client-demo, client-1, client-2, client-3, client-4, client-5, \
             server-demo, server-1, server-2, server-3, server-4"
        );
        let ports: Vec<_> = set.exercises.iter().map(|e| e.port).collect();
        assert_eq!(
            ports,
            [
                65432, 5555, 5678, 9876, 8765, 0, 34567, 7890, 8675, 3456, 1248
            ]
            .map(|p| (p != 0).then_some(p))
        );
        let client_1 = set.get("client-1").unwrap();
        assert_eq!(client_1.role, Role::Client);
        assert_eq!(
            client_1.steps[0],
            Step::Expect(Matcher::Exact("How do you do?".into()))
        );
    }

    #[test]
    fn syntax_errors_name_the_file_line_and_column() {
        let text =
            "{\n  \"format\": 1,\n  \"exercises\": [\n    {\"id\": \"x\", \"rol\": 1}\n  ]\n}";
        let error = ExerciseSet::parse(text, "mine.json")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("mine.json:4:"), "{error}");
        assert!(error.contains("unknown field `rol`"), "{error}");
    }

    #[test]
    fn unknown_steps_are_named() {
        let text = r#"{"format": 1, "exercises": [{"id": "x", "title": "t", "instructions": "i",
            "role": "client", "port": 1, "steps": [{"shout": "hi"}]}]}"#;
        let error = ExerciseSet::parse(text, "f.json").unwrap_err().to_string();
        assert!(error.contains("unknown variant `shout`"), "{error}");
    }

    #[test]
    fn unknown_placeholders_bad_regexes_and_duplicates_are_all_reported() {
        let text = r#"{"format": 1, "exercises": [
            {"id": "x", "title": "t", "instructions": "i", "role": "server", "port": 1,
             "steps": [{"send": "{nope}"}, {"expect": {"regex": "(unclosed"}}]},
            {"id": "x", "title": "t", "instructions": "i", "role": "server", "port": 2,
             "steps": [{"expect": {"regex": "^{w}{2,3}$"}}], "values": {"w": "random-word"}}]}"#;
        let error = ExerciseSet::parse(text, "f.json").unwrap_err().to_string();
        assert!(
            error.contains("exercise x, step 1: `{nope}` names no value"),
            "{error}"
        );
        assert!(
            error.contains("exercise x, step 2: the regex `(unclosed` does not compile"),
            "{error}"
        );
        assert!(error.contains("used twice"), "{error}");
        assert!(!error.contains("{2,3}"), "{error}");
    }

    #[test]
    fn a_hint_whose_regex_does_not_compile_is_a_load_error_not_a_silent_miss() {
        let text = r#"{"format": 1, "exercises": [
            {"id": "x", "title": "t", "instructions": "i", "role": "server", "port": 1,
             "steps": [{"expect": {"all-of": [{"regex": "[z-a]"}, {"not": {"regex": "a{2,1}"}}]}}],
             "hints": [{"when": "any-text", "hint": "h"},
                       {"when": {"any-of": [{"regex": "^{word}$"}, {"regex": "b("}]}, "hint": "h"}],
             "values": {"word": "random-word"}}]}"#;
        let error = ExerciseSet::parse(text, "f.json").unwrap_err().to_string();
        assert!(error.starts_with("f.json has 3 problem(s):"), "{error}");
        assert!(
            error.contains("exercise x, step 1: the regex `[z-a]` does not compile"),
            "{error}"
        );
        assert!(
            error.contains("exercise x, step 1: the regex `a{2,1}` does not compile"),
            "{error}"
        );
        assert!(
            error.contains("exercise x, hint 2: the regex `b(` does not compile"),
            "{error}"
        );
    }

    #[test]
    fn a_client_without_a_port_must_pass_one_in_its_arguments() {
        let text = r#"{"format": 1, "exercises": [{"id": "x", "title": "t", "instructions": "i",
            "role": "client", "steps": [{"expect": "any-text"}]}]}"#;
        let error = ExerciseSet::parse(text, "f.json").unwrap_err().to_string();
        assert!(error.contains("`args` must pass `{port}`"), "{error}");
    }
}
