//! The roster: a CSV that says whose each submission is, for folder names
//! that are neither a key of the export nor an LMS's download name (a
//! GitHub Classroom repository, a team name). Its header names the two
//! columns: the submission (`submission` or `folder`) and the key (the
//! `--match` column's own name, or `key`); a roster of just two columns
//! may name them anything, and is read in that order.

use super::matching::normal;
use crate::error::Error;
use crate::text::escape_bytes;
use std::collections::HashMap;

/// Names the submission column may have.
const SUBMISSION_COLUMNS: [&str; 2] = ["submission", "folder"];

/// Reads a roster from `bytes` (`shown` names it in messages): submission
/// name → key in `key_column`.
pub fn parse(
    bytes: &[u8],
    shown: &str,
    key_column: &str,
) -> Result<HashMap<String, String>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            return Err(Error::bad_input(format!(
                "the roster {shown} is empty: give it a header (submission,{key_column}) and a line per submission"
            )));
        }
        Some(header) => header.map_err(|e| unreadable(shown, e))?,
    };
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let find = |wanted: &[&str]| {
        names
            .iter()
            .position(|n| wanted.iter().any(|w| n.eq_ignore_ascii_case(w)))
    };
    let (submission, key) = match (find(&SUBMISSION_COLUMNS), find(&[key_column, "key"])) {
        (Some(s), Some(k)) if s != k => (s, k),
        // Two columns, one of them named: the other is the other.
        (Some(s), None) if names.len() == 2 => (s, 1 - s),
        (None, Some(k)) if names.len() == 2 => (1 - k, k),
        _ if names.len() == 2 => (0, 1),
        _ => {
            return Err(Error::bad_input(format!(
                "the roster {shown} has no `submission` (or `folder`) and `{key_column}` (or `key`) columns; its header is `{}`: name them so",
                escape_bytes(names.join(",").as_bytes())
            )));
        }
    };
    let mut roster: HashMap<String, String> = HashMap::new();
    for record in records {
        let record = record.map_err(|e| unreadable(shown, e))?;
        let line = record.position().map_or(0, |p| p.line());
        let name = record.get(submission).unwrap_or("").to_string();
        let value = record.get(key).unwrap_or("").to_string();
        if name.is_empty() && value.is_empty() {
            continue;
        }
        if name.is_empty() || value.is_empty() {
            return Err(Error::bad_input(format!(
                "line {line} of the roster {shown} has no {}: give both the submission and the {key_column}",
                if name.is_empty() {
                    "submission"
                } else {
                    key_column
                }
            )));
        }
        if let Some(earlier) = roster.get(&name)
            && normal(earlier) != normal(&value)
        {
            return Err(Error::bad_input(format!(
                "the roster {shown} gives `{}` twice, as `{}` and (line {line}) `{}`: keep one",
                escape_bytes(name.as_bytes()),
                escape_bytes(earlier.as_bytes()),
                escape_bytes(value.as_bytes())
            )));
        }
        roster.insert(name, value);
    }
    Ok(roster)
}

fn unreadable(shown: &str, e: csv::Error) -> Error {
    Error::bad_input(format!("cannot read the roster {shown} as CSV: {e}")).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let roster = parse(
            b"\xef\xbb\xbfSIS Login ID,Name,Folder\r\njdoe,Jane,team-7\r\n\r\n rroe , Rick , octo-rroe \r\n",
            "r.csv",
            "SIS Login ID",
        )
        .unwrap();
        assert_eq!(roster["team-7"], "jdoe");
        assert_eq!(roster["octo-rroe"], "rroe");
        assert_eq!(roster.len(), 2);
    }

    #[test]
    fn two_columns_need_no_names() {
        let roster = parse(b"repo,student\nx,1\n", "r.csv", "ID").unwrap();
        assert_eq!(roster["x"], "1");
    }

    #[test]
    fn two_columns_with_one_named_put_the_other_on_the_other_side() {
        // The key column named (the default --match), the submission not.
        let roster = parse(
            b"login,SIS Login ID
team-7,jdoe
",
            "r.csv",
            "SIS Login ID",
        )
        .unwrap();
        assert_eq!(roster["team-7"], "jdoe");
        // The submission column named, second; the key first.
        let roster = parse(
            b"login,submission
jdoe,team-7
",
            "r.csv",
            "SIS Login ID",
        )
        .unwrap();
        assert_eq!(roster["team-7"], "jdoe");
    }

    #[test]
    fn a_roster_that_cannot_be_read_says_what_to_do() {
        let said = |bytes: &[u8]| parse(bytes, "r.csv", "ID").unwrap_err().to_string();
        assert!(said(b"").contains("is empty"));
        assert!(said(b"a,b,c\n1,2,3\n").contains("has no `submission`"));
        assert!(said(b"submission,ID\nx,1\nx,2\n").contains("gives `x` twice"));
        assert!(said(b"submission,ID\nx,\n").contains("line 2"));
        // The same line twice is no contradiction.
        assert!(parse(b"submission,ID\nx,1\nx,1\n", "r.csv", "ID").is_ok());
    }
}
