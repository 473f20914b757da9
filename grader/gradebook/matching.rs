//! Which student row of an export each submission is: by the roster when
//! it names the submission, else by its name in the key column, else by
//! the names an LMS's own "download all submissions" gives (Canvas's
//! `lastfirst_USERID_SUBMISSIONID_file`, Moodle's `Full
//! Name_PARTICIPANTID_assignsubmission_file_`), else by an address's local
//! part. Keys compare trimmed and ignoring case (logins, emails). A name
//! that fits several rows, or a row that several submissions fit, is
//! ambiguous: said, never guessed.

use super::export::{Export, Lms};
use std::collections::HashMap;

/// How a submission was matched to its row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum How {
    /// Its name is a value of the key column.
    Key,
    /// The roster gives its key.
    Roster,
    /// Canvas's download name, by its user id (the `ID` column).
    CanvasDownload,
    /// Moodle's download name, by the student's full name.
    MoodleDownload,
    /// Its name is the local part of an address in the key column.
    LocalPart,
}

impl How {
    /// Its words in the summary.
    pub fn describe(&self, key_column: &str) -> String {
        match self {
            How::Key => format!("by {key_column}"),
            How::Roster => "by the roster".to_string(),
            How::CanvasDownload => "by Canvas's download names (user ID)".to_string(),
            How::MoodleDownload => "by Moodle's download names (full name)".to_string(),
            How::LocalPart => format!("by the part of {key_column} before the @"),
        }
    }
}

/// Where one submission's grade goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The row (an index into the export's rows).
    Row(usize, How),
    /// No row: why, in words.
    NoRow(String),
    /// Several rows fit, or the row is another submission's too: which.
    Ambiguous(Vec<usize>, String),
}

/// A key as compared: trimmed, ignoring case.
pub fn normal(key: &str) -> String {
    key.trim().to_lowercase()
}

/// A person's name as compared: words separated by one space, ignoring
/// case.
fn normal_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The Canvas user id in a name Canvas's "Download Submissions" gives:
/// `lastfirst_USERID_SUBMISSIONID_file`, with `LATE_` before the user id
/// for a late one. `lastfirst` has no `_` (Canvas strips everything but
/// letters and digits).
pub fn canvas_user_id(name: &str) -> Option<&str> {
    let mut parts = name.split('_');
    let _lastfirst = parts.next()?;
    let mut user = parts.next()?;
    if user.eq_ignore_ascii_case("late") {
        user = parts.next()?;
    }
    let submission = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(user) && digits(submission)).then_some(user)
}

/// The student's full name in a name Moodle's "Download all submissions"
/// gives: `Full Name_PARTICIPANTID_assignsubmission_PLUGIN_` (the
/// participant id is the assignment's own, in no export column).
pub fn moodle_full_name(name: &str) -> Option<&str> {
    let at = name.find("_assignsubmission_")?;
    let (person, participant) = name[..at].rsplit_once('_')?;
    let digits = !participant.is_empty() && participant.bytes().all(|b| b.is_ascii_digit());
    (digits && !person.trim().is_empty()).then_some(person)
}

/// The rows of an export, indexed every way a submission may name one.
pub struct Matcher<'a> {
    key_column: &'a str,
    by_key: HashMap<String, Vec<usize>>,
    by_canvas_id: HashMap<String, Vec<usize>>,
    by_full_name: HashMap<String, Vec<usize>>,
    by_local_part: HashMap<String, Vec<usize>>,
    roster: &'a HashMap<String, String>,
}

impl<'a> Matcher<'a> {
    /// Indexes the student rows of `export` by `key` (a column index,
    /// called `key_column`), with the `roster`'s submission → key map.
    pub fn new(
        export: &Export,
        key: usize,
        key_column: &'a str,
        roster: &'a HashMap<String, String>,
    ) -> Matcher<'a> {
        let column = |name: &str| {
            export
                .header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        };
        let mut matcher = Matcher {
            key_column,
            by_key: HashMap::new(),
            by_canvas_id: HashMap::new(),
            by_full_name: HashMap::new(),
            by_local_part: HashMap::new(),
            roster,
        };
        let canvas_id = column("ID").filter(|_| export.lms == Lms::Canvas);
        let first = column("First name");
        let last = column("Last name").or_else(|| column("Surname"));
        let moodle_names = first.zip(last).filter(|_| export.lms == Lms::Moodle);
        for (index, row) in export.students() {
            let add = |map: &mut HashMap<String, Vec<usize>>, value: String| {
                if !value.is_empty() {
                    map.entry(value).or_default().push(index);
                }
            };
            let value = normal(&row.text(key));
            if let Some((local, _domain)) = value.split_once('@') {
                add(&mut matcher.by_local_part, local.to_string());
            }
            add(&mut matcher.by_key, value);
            if let Some(id) = canvas_id {
                add(&mut matcher.by_canvas_id, normal(&row.text(id)));
            }
            if let Some((first, last)) = moodle_names {
                let (first, last) = (row.text(first), row.text(last));
                add(
                    &mut matcher.by_full_name,
                    normal_name(&format!("{first} {last}")),
                );
                let reversed = normal_name(&format!("{last} {first}"));
                if reversed != normal_name(&format!("{first} {last}")) {
                    add(&mut matcher.by_full_name, reversed);
                }
            }
        }
        matcher
    }

    /// The row of the submission called `name`, on its own (before other
    /// submissions are taken into account).
    pub fn find(&self, name: &str) -> Match {
        let look = |map: &HashMap<String, Vec<usize>>, key: &str, how: How| {
            map.get(key).map(|rows| match rows.as_slice() {
                [one] => Match::Row(*one, how),
                several => {
                    Match::Ambiguous(several.to_vec(), format!("{} rows fit it", several.len()))
                }
            })
        };
        if let Some(key) = self.roster.get(name) {
            return look(&self.by_key, &normal(key), How::Roster).unwrap_or_else(|| {
                Match::NoRow(format!(
                    "the roster gives it `{key}`, and no row's {} is that",
                    self.key_column
                ))
            });
        }
        let key = normal(name);
        let canvas = canvas_user_id(name).map(normal);
        let moodle = moodle_full_name(name).map(normal_name);
        let local_part = (!key.contains('@')).then_some(&key);
        look(&self.by_key, &key, How::Key)
            .or_else(|| canvas.and_then(|id| look(&self.by_canvas_id, &id, How::CanvasDownload)))
            .or_else(|| {
                moodle.and_then(|full| look(&self.by_full_name, &full, How::MoodleDownload))
            })
            .or_else(|| local_part.and_then(|l| look(&self.by_local_part, l, How::LocalPart)))
            .unwrap_or_else(|| {
                Match::NoRow(format!(
                    "no row's {} is `{}`{}",
                    self.key_column,
                    name.trim(),
                    if self.roster.is_empty() {
                        ": give a --roster line for it"
                    } else {
                        ", and the roster does not name it"
                    }
                ))
            })
    }
}

/// The match of every submission in `names`, with a row that several of
/// them fit made ambiguous for each of them.
pub fn match_all(matcher: &Matcher, names: &[&str]) -> Vec<Match> {
    let mut found: Vec<Match> = names.iter().map(|name| matcher.find(name)).collect();
    let mut takers: HashMap<usize, Vec<usize>> = HashMap::new();
    for (submission, found) in found.iter().enumerate() {
        if let Match::Row(row, _) = found {
            takers.entry(*row).or_default().push(submission);
        }
    }
    for (row, submissions) in takers {
        if submissions.len() < 2 {
            continue;
        }
        for &submission in &submissions {
            let others: Vec<&str> = submissions
                .iter()
                .filter(|&&other| other != submission)
                .map(|&other| names[other])
                .collect();
            found[submission] = Match::Ambiguous(
                vec![row],
                format!("its row is also {}'s", others.join(", ")),
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_download_names_give_the_user_id() {
        assert_eq!(
            canvas_user_id("doejane_1001_55501_client-1.py"),
            Some("1001")
        );
        assert_eq!(
            canvas_user_id("doejane_LATE_1001_55501_sockets"),
            Some("1001")
        );
        assert_eq!(canvas_user_id("doejane_late_1001_55501"), Some("1001"));
        for not_canvas in ["jdoe", "doe_jane", "doejane_1001_x_file", "a_b_1_2", "_1_"] {
            assert_eq!(canvas_user_id(not_canvas), None, "{not_canvas}");
        }
    }

    #[test]
    fn moodle_download_names_give_the_full_name() {
        assert_eq!(
            moodle_full_name("Jane Doe_123456_assignsubmission_file_"),
            Some("Jane Doe")
        );
        assert_eq!(
            moodle_full_name("Ana_María López_77_assignsubmission_onlinetext_"),
            Some("Ana_María López")
        );
        for not_moodle in [
            "Jane Doe",
            "Jane Doe_x_assignsubmission_file_",
            "_1_assignsubmission_file_",
        ] {
            assert_eq!(moodle_full_name(not_moodle), None, "{not_moodle}");
        }
    }

    fn export(text: &str) -> Export {
        Export::parse(text.as_bytes().to_vec(), "e.csv").unwrap()
    }

    const CANVAS: &str = "Student,ID,SIS User ID,SIS Login ID,Section,Lab (1)\n\
        \x20   Points Possible,,,,,10\n\
        \"Doe, Jane\",1001,S1,JDoe,A,\n\
        \"Roe, Rick\",1002,S2,rroe@uni.edu,A,\n\
        \"Twin, One\",1003,S3,twin,A,\n\
        \"Twin, Two\",1004,S4,twin,A,\n";

    #[test]
    fn keys_match_ignoring_case_and_download_names_by_their_id() {
        let export = export(CANVAS);
        let roster = HashMap::new();
        let matcher = Matcher::new(&export, 3, "SIS Login ID", &roster);
        assert_eq!(matcher.find("jdoe"), Match::Row(1, How::Key));
        assert_eq!(matcher.find(" JDOE "), Match::Row(1, How::Key));
        assert_eq!(matcher.find("RRoe@uni.edu"), Match::Row(2, How::Key));
        assert_eq!(matcher.find("rroe"), Match::Row(2, How::LocalPart));
        assert_eq!(
            matcher.find("roerick_LATE_1002_9_x"),
            Match::Row(2, How::CanvasDownload)
        );
        assert!(matches!(matcher.find("twin"), Match::Ambiguous(rows, _) if rows == [3, 4]));
        assert!(matches!(matcher.find("nobody"), Match::NoRow(why) if why.contains("--roster")));
        // The Points Possible row is nobody's.
        assert!(matches!(matcher.find("Points Possible"), Match::NoRow(_)));
    }

    #[test]
    fn the_roster_comes_first_and_names_a_key_that_is_not_there() {
        let export = export(CANVAS);
        let roster: HashMap<String, String> = [
            ("team-7".to_string(), "jdoe".to_string()),
            ("jdoe".to_string(), "rroe@uni.edu".to_string()),
            ("ghost".to_string(), "nobody".to_string()),
        ]
        .into();
        let matcher = Matcher::new(&export, 3, "SIS Login ID", &roster);
        assert_eq!(matcher.find("team-7"), Match::Row(1, How::Roster));
        assert_eq!(matcher.find("jdoe"), Match::Row(2, How::Roster));
        assert!(matches!(matcher.find("ghost"), Match::NoRow(why) if why.contains("`nobody`")));
    }

    #[test]
    fn two_submissions_for_one_row_are_both_ambiguous() {
        let export = export(CANVAS);
        let roster = HashMap::new();
        let matcher = Matcher::new(&export, 3, "SIS Login ID", &roster);
        let found = match_all(&matcher, &["jdoe", "doejane_1001_5_x", "rroe"]);
        assert!(matches!(&found[0], Match::Ambiguous(_, why) if why.contains("doejane_1001_5_x")));
        assert!(matches!(&found[1], Match::Ambiguous(_, why) if why.contains("jdoe")));
        assert_eq!(found[2], Match::Row(2, How::LocalPart));
    }

    #[test]
    fn moodle_download_names_match_the_full_name_in_either_order() {
        let export = export(
            "First name,Last name,ID number,Institution,Department,Email address,Assignment: Lab (Real)\n\
             Jane,Doe,,,,jane@uni.edu,-\n\
             Li,Wei,,,,wei@uni.edu,-\n",
        );
        let roster = HashMap::new();
        let matcher = Matcher::new(&export, 5, "Email address", &roster);
        assert_eq!(
            matcher.find("Jane  Doe_41_assignsubmission_file_"),
            Match::Row(0, How::MoodleDownload)
        );
        assert_eq!(
            matcher.find("wei li_42_assignsubmission_file_"),
            Match::Row(1, How::MoodleDownload)
        );
        assert_eq!(matcher.find("jane"), Match::Row(0, How::LocalPart));
    }
}
