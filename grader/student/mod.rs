//! The student's side: finding the program for an exercise (the submission
//! contract), copying the submission by rules and within limits, launching
//! the program in its private copy, and capturing what it prints.

mod capture;
mod copy;
mod locate;
mod nesting;
mod process;
mod program_clock;
mod slots;
mod workspace;

pub use capture::{Capture, Progress};
pub use copy::{CopyError, Limits, Skipped};
pub use locate::{
    Interpreter, Interpreters, Located, MANIFEST, Manifest, ManifestError, Program, SCRIPT_KINDS,
    example_names, how_to_run, locate, underscored,
};
pub use nesting::the_one_folder_in;
pub use process::{
    Finished, Launch, Observer, Running, START_ATTEMPTS, is_harness_start_failure, kill_all_running,
};
pub use program_clock::{Deadline, MOST_EXTENSION, ProgramClock};
pub use slots::{HeldSlot, Slot, StartSlots};
pub use workspace::{ExerciseFolders, Workspace};
