//! sockgrade grades socket-programming exercises: for each exercise it
//! plays the other side of the conversation (a listener for a student's
//! client, a client for a student's server), runs the student's program
//! against it with deadlines, and reports the verdicts.
//!
//! Layout, one concept per module:
//! - [`exercise`]: an exercise as data (steps, matchers, values, timeouts),
//!   loading and validation, the embedded notebook set. Texts with
//!   `{name}` placeholders are [`exercise::Template`]s and regexes
//!   [`exercise::Pattern`]s, both parsed once at load time. The
//!   robustness tier's [`exercise::Variant`]s are data too.
//! - [`peer`]: the grader's side of one conversation: [`peer::side`] makes
//!   it ready and meets the student's program (for `grade` and `sockgrade
//!   peer` alike); the [`peer::Connection`] owns the bytes and frames them
//!   into messages by a completion rule, and sends in the segments a
//!   [`peer::Shaping`] (a robustness variant, or none) cuts; the step
//!   interpreter sees only messages; matching is pure.
//! - [`student`]: the submission contract, private copies, launching and
//!   watching the student's program, its clock, capturing its output.
//! - [`grade`]: one submission, every selected exercise, into results;
//!   each exercise in three stages: prepare (what the program needs; a
//!   failure is the grader's), converse (run it against the peer, gather
//!   evidence), judge (the verdict, a pure function of the evidence); an
//!   exercise that passed is replayed per robustness variant asked for. Its
//!   [`grade::Environment`] is built once, immutable.
//! - [`batch`]: many submissions (folders, archives), sharded, admitted by
//!   CPU pressure, each in a child grader; merging shard outputs.
//! - [`child`]: grading a submission in a child sockgrade (in namespaces):
//!   a typed [`child::Request`] (on a new sockgrade's stdin, or in the
//!   memory of a fork: `grade` forks before its runtime starts), a typed
//!   [`child::Reply`] in a file only the caller can write. A stop is
//!   passed on to the child, which cleans up before it ends.
//! - [`summary`]: a batch's summary as a value, computed from its reports.
//! - [`gradebook`]: a batch's scores put into the gradebook an LMS exported
//!   (Canvas, Moodle), matched to its students, for import.
//! - [`hints`]: feedback that names a recognised mistake, from evidence.
//! - [`explain`]: what the grader does and accepts for one exercise, in words.
//! - [`outcome`]: the result values every reporter reads (isolation and
//!   protections as values; the words are the terminal's).
//! - [`practice`]: `sockgrade peer`, the grader's side played live.
//! - [`report`]: terminal, JSON, JUnit, Gradescope, CSV gradebook, batch
//!   summary, HTML (a submission's page, the class page) and exercise list
//!   writers (pure: one value in, bytes out).
//! - [`transcript`]: the timeline of one exercise.
//! - [`sandbox`]: the isolation and confinement in force: network, PID and
//!   mount namespaces; per program cgroups (moved into without waiting for
//!   the kernel), Landlock, another user, rlimits; each exercise's overlay
//!   view of the submission's one private copy; and starting a program
//!   confined (`sandbox::start`: on Linux a clone that shares the grader's
//!   memory until exec, watched through a pidfd, instead of a fork of the
//!   multi-threaded grader).
//! - [`platform`]: everything OS-specific behind one interface, its
//!   implementation chosen once (Unix or Windows; Linux's /proc or none):
//!   process groups or Job objects, file modes, /proc reads, usage.
//! - [`backoff`]: the growing pauses of every polling wait.
//! - [`text`]: making untrusted bytes safe to show.
//! - [`error`]: harness errors and exit codes; [`cli`]: the command line,
//!   thin over the modules above.

pub mod backoff;
pub mod batch;
pub mod child;
pub mod cli;
pub mod error;
pub mod exercise;
pub mod explain;
pub mod grade;
pub mod gradebook;
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
