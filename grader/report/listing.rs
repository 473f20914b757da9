//! `sockgrade list`: the exercises of a set as a table (id, role, port,
//! points, title), and where they come from when not the notebook's.

use crate::exercise::{EMBEDDED_SOURCE, ExerciseSet};
use crate::text::escape_bytes;

/// The table, ending with a newline. Titles and the source come from an
/// exercise file, so they are made safe to show.
pub fn render(set: &ExerciseSet) -> String {
    let mut out = row("id", "role", "port", "points", "title");
    for exercise in &set.exercises {
        let port = exercise
            .port
            .map_or_else(|| "any".to_string(), |p| p.to_string());
        out.push_str(&row(
            &escape_bytes(exercise.id.as_bytes()),
            exercise.role.as_str(),
            &port,
            &exercise.points.to_string(),
            &escape_bytes(exercise.title.as_bytes()),
        ));
    }
    if set.source != EMBEDDED_SOURCE {
        out.push_str(&format!("(from {})\n", escape_bytes(set.source.as_bytes())));
    }
    out
}

fn row(id: &str, role: &str, port: &str, points: &str, title: &str) -> String {
    format!("{id:<14} {role:<7} {port:<7} {points:>6}  {title}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_notebook_with_a_header_and_no_source_line() {
        let table = render(&ExerciseSet::embedded().unwrap());
        let mut lines = table.lines();
        assert_eq!(
            lines.next(),
            Some("id             role    port    points  title")
        );
        assert!(
            table.contains("\nclient-5       client  any          1  Talking to a web server\n")
        );
        assert!(!table.contains("(from"), "{table}");
    }

    #[test]
    fn a_title_cannot_move_the_terminal() {
        let mut set = ExerciseSet::embedded().unwrap();
        set.exercises[0].title = "evil \u{1b}[2J title".to_string();
        set.source = "course/ex.json".to_string();
        let table = render(&set);
        assert!(!table.contains('\u{1b}'), "{table}");
        assert!(table.ends_with("(from course/ex.json)\n"), "{table}");
    }
}
