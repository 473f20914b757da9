//! sockgrade grades socket-programming exercises: for each exercise it
//! plays the other side of the conversation (a listener for a student's
//! client, a client for a student's server), runs the student's program
//! against it with deadlines, and reports the verdicts.
//!
//! Layout, one concept per module:
//! - [`exercise`]: an exercise as data (steps, matchers, values, timeouts),
//!   loading and validation, the embedded notebook set.
//! - [`peer`]: the grader's side of one conversation: connection setup,
//!   the [`peer::Connection`] that owns the bytes, matching, and the step
//!   interpreter.
//! - [`student`]: the submission contract, private copies, launching and
//!   watching the student's program, capturing its output.
//! - [`grade`]: one submission, every selected exercise, into results;
//!   each exercise in three stages: prepare (what the program needs; a
//!   failure is the grader's), converse (run it against the peer, gather
//!   evidence), judge (the verdict, a pure function of the evidence).
//! - [`batch`]: many submissions (folders, archives), sharded, in child
//!   graders; the gradebook, summary and merge of shard outputs.
//! - [`summary`]: a batch's summary as a value, computed from its reports.
//! - [`hints`]: feedback that names a recognised mistake.
//! - [`explain`]: what the grader does and accepts for one exercise, in words.
//! - [`outcome`]: the result values every reporter reads.
//! - [`practice`]: `sockgrade peer`, the grader's side played live.
//! - [`report`]: terminal, JSON, JUnit, Gradescope, CSV gradebook and batch
//!   summary writers (pure: results in, bytes out).
//! - [`transcript`]: the timeline of one exercise.
//! - [`sandbox`]: the isolation and confinement in force: network, PID and
//!   mount namespaces; per program cgroups, Landlock, another user, rlimits.
//! - [`child`]: grading a submission in a child sockgrade (in namespaces).
//! - [`platform`]: everything OS-specific (process groups, /proc).
//! - [`text`]: making untrusted bytes safe to show.
//! - [`error`]: harness errors and exit codes; [`cli`]: the command line.

pub mod backoff;
pub mod batch;
pub mod child;
pub mod cli;
pub mod error;
pub mod exercise;
pub mod explain;
pub mod grade;
pub mod hints;
pub mod outcome;
pub mod peer;
pub mod platform;
pub mod practice;
pub mod report;
pub mod sandbox;
pub mod student;
pub mod summary;
pub mod text;
pub mod transcript;
