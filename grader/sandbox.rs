//! The isolation a student's program runs under. For now only the process
//! group (see `platform`); namespaces, limits and Landlock come here, behind
//! this interface, so that `grade` and `batch` do not change when they do.

/// The protections in force for a grade, as reports name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// The program shares the grader's network and user; its process group
    /// is ended after each exercise.
    #[default]
    None,
}

impl Isolation {
    /// The name written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::None => "none",
        }
    }
}
