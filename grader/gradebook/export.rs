//! The gradebook an LMS exports, read as CSV: which LMS wrote it (from its
//! header), which rows are students and which are the LMS's own (Canvas's
//! `Points Possible` and `Manual Posting` rows), its columns, and where in
//! the file's bytes each row lies, so that a filled copy can keep every
//! row it does not change byte for byte.

use crate::error::Error;
use std::ops::Range;

/// The LMS that wrote an export, as told by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lms {
    /// Canvas's gradebook export: `Student, ID, SIS User ID, SIS Login ID,
    /// Section`, then `Title (id)` per assignment, then totals.
    Canvas,
    /// Moodle's grader report export: `First name, Last name, ID number,
    /// Institution, Department, Email address`, then `Type: Name (Real)`
    /// per grade item, then `Last downloaded from this course`.
    Moodle,
    /// Any other CSV with a header row: every row below it is a student.
    Other,
}

impl Lms {
    /// Its name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Lms::Canvas => "Canvas",
            Lms::Moodle => "Moodle",
            Lms::Other => "CSV",
        }
    }

    /// The column students are matched by when `--match` is not given.
    pub fn default_key_column(self) -> Option<&'static str> {
        match self {
            Lms::Canvas => Some("SIS Login ID"),
            Lms::Moodle => Some("Email address"),
            Lms::Other => None,
        }
    }
}

/// What a row of the export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A student: matched to submissions, listed when it has none.
    Student,
    /// Canvas's Test Student (the instructor's student view): filled when
    /// a submission matches it, never listed as missing one.
    TestStudent,
    /// Canvas's own rows: `Points Possible`, and the unnamed row that says
    /// `Manual Posting` under assignments whose grades are posted by hand.
    Lms,
}

/// One row of the export below the header.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its line number in the file (1 is the header), for messages.
    pub line: u64,
    /// Its cells as bytes, exactly as read.
    pub cells: Vec<Vec<u8>>,
    /// What it is.
    pub kind: RowKind,
    /// Where its text lies in the file, without its line ending.
    pub span: Range<usize>,
}

impl Row {
    /// The cell in `column`, as text (empty when the row is shorter).
    pub fn text(&self, column: usize) -> String {
        self.cells
            .get(column)
            .map(|cell| String::from_utf8_lossy(cell).into_owned())
            .unwrap_or_default()
    }
}

/// A gradebook export, read.
#[derive(Debug)]
pub struct Export {
    /// The file as messages name it (escaped).
    pub shown: String,
    /// The file's bytes, as read.
    pub bytes: Vec<u8>,
    /// The field separator (`,`, `;` or a tab).
    pub delimiter: u8,
    /// Which LMS wrote it.
    pub lms: Lms,
    /// The column names.
    pub header: Vec<String>,
    /// The header's cells as bytes, and where it lies in the file.
    pub header_cells: Vec<Vec<u8>>,
    /// Where the header's text lies in the file.
    pub header_span: Range<usize>,
    /// Every row below the header, in order.
    pub rows: Vec<Row>,
    /// Whether some bytes are not UTF-8 (a file saved in another encoding).
    pub not_utf8: bool,
}

/// The separators an LMS may write: Canvas's and Moodle's settings offer
/// a comma, a semicolon or a tab (Moodle's colon would split its own
/// `Assignment: Name` columns, so it is not guessed).
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// The first cell of Canvas's row of assignment maximums.
const POINTS_POSSIBLE: &str = "Points Possible";

/// Canvas's name for its Test Student, in the `Student` column (sortable
/// form) or as `LastName`/`FirstName`.
const TEST_STUDENT: [&str; 2] = ["Student, Test", "Test Student"];

impl Export {
    /// Reads the export in `bytes`; `shown` names the file in messages.
    pub fn parse(bytes: Vec<u8>, shown: &str) -> Result<Export, Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes == b"\xef\xbb\xbf" {
            return Err(Error::bad_input(format!(
                "{shown} is empty: export the gradebook from the LMS again"
            )));
        }
        let delimiter = guess_delimiter(&bytes);
        let records = read_records(&bytes, delimiter, shown)?;
        let mut records = records.into_iter();
        let Some((header_cells, header_span)) = records.next() else {
            return Err(Error::bad_input(format!(
                "{shown} holds no CSV row: export the gradebook from the LMS again"
            )));
        };
        let header: Vec<String> = header_cells
            .iter()
            .map(|cell| {
                String::from_utf8_lossy(cell)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_string()
            })
            .collect();
        let lms = recognise(&header);
        let first_cell = |cells: &[Vec<u8>]| {
            cells
                .first()
                .map(|cell| String::from_utf8_lossy(cell).trim().to_string())
                .unwrap_or_default()
        };
        let rows = records
            .map(|(cells, span)| {
                let name = first_cell(&cells);
                let kind = match lms {
                    Lms::Canvas if name.is_empty() || name == POINTS_POSSIBLE => RowKind::Lms,
                    Lms::Canvas if is_test_student(&header, &cells) => RowKind::TestStudent,
                    _ => RowKind::Student,
                };
                Row {
                    line: line_of(&bytes, span.start),
                    cells,
                    kind,
                    span,
                }
            })
            .collect();
        let not_utf8 = std::str::from_utf8(&bytes).is_err();
        Ok(Export {
            shown: shown.to_string(),
            bytes,
            delimiter,
            lms,
            header,
            header_cells,
            header_span,
            rows,
            not_utf8,
        })
    }

    /// The rows that are students (the Test Student among them).
    pub fn students(&self) -> impl Iterator<Item = (usize, &Row)> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.kind != RowKind::Lms)
    }

    /// The column named `name`, trimmed and ignoring case; `None` when
    /// there is none, an error when there are several.
    pub fn column_named(&self, name: &str) -> Result<Option<usize>, Error> {
        let wanted = name.trim();
        let exact: Vec<usize> = positions(&self.header, |h| h == wanted);
        let found = if exact.is_empty() {
            positions(&self.header, |h| h.eq_ignore_ascii_case(wanted))
        } else {
            exact
        };
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            several => Err(Error::bad_input(format!(
                "the export has {} columns named `{}` (columns {}): rename all but one in the file",
                several.len(),
                self.header[several[0]],
                several
                    .iter()
                    .map(|i| (i + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The columns an assignment's grades can go in: Canvas's `Title (id)`
    /// columns, Moodle's `Type: Name (Display)` grade items; in another
    /// CSV, every column.
    pub fn assignment_columns(&self) -> Vec<usize> {
        (0..self.header.len())
            .filter(|&i| match self.lms {
                Lms::Canvas => canvas_assignment_id(&self.header[i]).is_some(),
                Lms::Moodle => moodle_item_name(&self.header[i]).is_some(),
                Lms::Other => true,
            })
            .collect()
    }

    /// What Canvas's `Points Possible` row says of `column`, if the export
    /// has that row.
    pub fn points_possible(&self, column: usize) -> Option<String> {
        self.rows
            .iter()
            .find(|row| {
                row.kind == RowKind::Lms
                    && row.text(0).trim() == POINTS_POSSIBLE
                    && self.lms == Lms::Canvas
            })
            .map(|row| row.text(column).trim().to_string())
    }

    /// Whether the export writes numbers with a decimal comma (`8,5`), as
    /// an export with `;` or tab separators made in many locales does.
    pub fn decimal_comma(&self) -> bool {
        if self.delimiter == b',' {
            return false;
        }
        self.rows.iter().any(|row| {
            row.cells
                .iter()
                .any(|cell| is_comma_decimal(&String::from_utf8_lossy(cell)))
        })
    }
}

/// The indexes of `header`'s names for which `test` holds.
fn positions(header: &[String], test: impl Fn(&str) -> bool) -> Vec<usize> {
    header
        .iter()
        .enumerate()
        .filter(|(_, h)| test(h))
        .map(|(i, _)| i)
        .collect()
}

/// `12,5` or `-3,25`: a number written with a decimal comma.
fn is_comma_decimal(text: &str) -> bool {
    let text = text.trim().trim_start_matches('-');
    match text.split_once(',') {
        Some((whole, fraction)) => {
            !whole.is_empty()
                && !fraction.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Canvas's assignment id in a column named `Title (id)`.
pub fn canvas_assignment_id(column: &str) -> Option<&str> {
    let inside = column.strip_suffix(')')?;
    let open = inside.rfind(" (")?;
    let id = &inside[open + 2..];
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// The grade item's name in a Moodle column named `Type: Name (Display)`
/// (`Assignment: Sockets Lab (Real)` gives `Sockets Lab`).
pub fn moodle_item_name(column: &str) -> Option<&str> {
    let (_, rest) = column.split_once(": ")?;
    let inside = rest.strip_suffix(')')?;
    let open = inside.rfind(" (")?;
    Some(inside[..open].trim())
}

/// The assignment's own name in a column header, for `--column NAME`:
/// without Canvas's ` (id)` or Moodle's `Type: ` and ` (Display)`.
pub fn assignment_name(lms: Lms, column: &str) -> Option<&str> {
    match lms {
        Lms::Canvas => {
            let id = canvas_assignment_id(column)?;
            Some(column[..column.len() - id.len() - 3].trim())
        }
        Lms::Moodle => moodle_item_name(column),
        Lms::Other => None,
    }
}

/// Which LMS a header is from.
fn recognise(header: &[String]) -> Lms {
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    if has("SIS Login ID") && has("ID") {
        Lms::Canvas
    } else if has("Email address")
        && (has("Last downloaded from this course")
            || (has("First name") && (has("Last name") || has("Surname"))))
    {
        Lms::Moodle
    } else {
        Lms::Other
    }
}

/// Whether a Canvas row is the Test Student's.
fn is_test_student(header: &[String], cells: &[Vec<u8>]) -> bool {
    let cell = |name: &str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .and_then(|i| cells.get(i))
            .map(|c| String::from_utf8_lossy(c).trim().to_string())
            .unwrap_or_default()
    };
    let student = cell("Student");
    let split = format!("{}, {}", cell("LastName"), cell("FirstName"));
    TEST_STUDENT
        .iter()
        .any(|name| student == *name || split == *name)
}

/// The separator of the header line: the candidate that splits it into the
/// most columns (a comma when none splits it).
fn guess_delimiter(bytes: &[u8]) -> u8 {
    let columns = |delimiter: u8| {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes)
            .byte_records()
            .next()
            .and_then(Result::ok)
            .map_or(0, |record| record.len())
    };
    let mut best = (b',', columns(b','));
    for &delimiter in &DELIMITERS[1..] {
        let count = columns(delimiter);
        if count > best.1 {
            best = (delimiter, count);
        }
    }
    best.0
}

/// One record as read: its fields' bytes and where its text lies.
type Record = (Vec<Vec<u8>>, Range<usize>);

/// Every record of `bytes` with where its text lies (without the line
/// ending that follows it, or the BOM before the first).
fn read_records(bytes: &[u8], delimiter: u8, shown: &str) -> Result<Vec<Record>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut records: Vec<(Vec<Vec<u8>>, usize)> = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let at = e
                    .position()
                    .map(|p| format!(" at line {}", p.line()))
                    .unwrap_or_default();
                return Err(Error::bad_input(format!(
                    "cannot read {shown} as CSV{at}: {e}; export the gradebook from the LMS again"
                ))
                .with_source(e));
            }
        }
        // The reader's position is where the previous record's reading
        // stopped: possibly before the line ending it left, or a BOM.
        let from = record.position().map_or(0, |p| p.byte() as usize);
        let mut start = from.min(bytes.len());
        if start == 0 && bytes.starts_with(b"\xef\xbb\xbf") {
            start = 3;
        }
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        records.push((record.iter().map(<[u8]>::to_vec).collect(), start));
    }
    let starts: Vec<usize> = records.iter().map(|(_, start)| *start).collect();
    Ok(records
        .into_iter()
        .enumerate()
        .map(|(i, (cells, start))| {
            let mut end = starts.get(i + 1).copied().unwrap_or(bytes.len());
            while end > start && matches!(bytes[end - 1], b'\r' | b'\n') {
                end -= 1;
            }
            (cells, start..end)
        })
        .collect())
}

/// The 1-based line of the byte at `offset`.
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Export {
        Export::parse(text.as_bytes().to_vec(), "export.csv").unwrap()
    }

    const CANVAS: &str = "Student,ID,SIS User ID,SIS Login ID,Section,Sockets Lab (123),Current Score\r\n\
        ,,,,,Manual Posting,\r\n\
        \x20   Points Possible,,,,,10.00,(read only)\r\n\
        \"Doe, Jane\",1001,S1,jdoe,A,,\r\n\
        \"Student, Test\",9999,,,A,,\r\n";

    #[test]
    fn a_canvas_export_is_recognised_with_its_own_rows_apart() {
        let export = parse(CANVAS);
        assert_eq!(export.lms, Lms::Canvas);
        let kinds: Vec<RowKind> = export.rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RowKind::Lms,
                RowKind::Lms,
                RowKind::Student,
                RowKind::TestStudent
            ]
        );
        assert_eq!(export.assignment_columns(), [5]);
        assert_eq!(export.points_possible(5).as_deref(), Some("10.00"));
        assert_eq!(export.points_possible(6).as_deref(), Some("(read only)"));
        assert_eq!(export.rows[2].line, 4);
    }

    #[test]
    fn spans_cover_each_rows_text_without_its_line_ending_or_the_bom() {
        let text = format!("\u{feff}{CANVAS}\n\nlast,row");
        let export = parse(&text);
        let bytes = text.as_bytes();
        assert_eq!(
            &bytes[export.header_span.clone()],
            CANVAS.lines().next().unwrap().trim_end().as_bytes()
        );
        assert_eq!(
            &bytes[export.rows[2].span.clone()],
            b"\"Doe, Jane\",1001,S1,jdoe,A,,"
        );
        assert_eq!(
            &bytes[export.rows.last().unwrap().span.clone()],
            b"last,row"
        );
        assert_eq!(export.header[0], "Student");
    }

    #[test]
    fn a_quoted_field_may_hold_line_endings() {
        let text = "Student,ID,SIS Login ID\n\"Doe,\r\n Jane\",1,jdoe\r\nx,2,y\n";
        let export = parse(text);
        assert_eq!(export.rows.len(), 2);
        assert_eq!(
            &text.as_bytes()[export.rows[0].span.clone()],
            b"\"Doe,\r\n Jane\",1,jdoe"
        );
        assert_eq!(export.rows[1].line, 4);
    }

    #[test]
    fn a_moodle_export_is_recognised_and_its_grade_items_named() {
        let export = parse(
            "\"First name\",\"Last name\",\"ID number\",Institution,Department,\"Email address\",\"Assignment: Sockets Lab (Real)\",\"Course total (Real)\",\"Last downloaded from this course\"\n",
        );
        assert_eq!(export.lms, Lms::Moodle);
        assert_eq!(export.assignment_columns(), [6]);
        assert_eq!(
            assignment_name(Lms::Moodle, "Assignment: Sockets Lab (Real)"),
            Some("Sockets Lab")
        );
        assert_eq!(
            assignment_name(Lms::Canvas, "Sockets Lab (123)"),
            Some("Sockets Lab")
        );
    }

    #[test]
    fn the_separator_is_the_one_that_splits_the_header_most() {
        assert_eq!(parse("Student;ID;SIS Login ID\n").delimiter, b';');
        assert_eq!(parse("Student\tID\tSIS Login ID\n").delimiter, b'\t');
        assert_eq!(parse("a,b;c,d\n").delimiter, b',');
        assert!(parse("Student;ID;SIS Login ID;Lab (1)\nx;1;y;8,5\n").decimal_comma());
        assert!(!parse("Student,ID,SIS Login ID,Lab (1)\nx,1,y,\"8,5\"\n").decimal_comma());
    }

    #[test]
    fn an_empty_file_or_ambiguous_column_names_are_bad_input() {
        for empty in ["", "\n\r\n", "\u{feff}"] {
            let error = Export::parse(empty.as_bytes().to_vec(), "e.csv").unwrap_err();
            assert!(error.to_string().contains("e.csv is empty"), "{error}");
        }
        let export = parse("a,b,A\n");
        assert!(export.column_named("a").unwrap() == Some(0));
        assert!(export.column_named(" B ").unwrap() == Some(1));
        assert!(export.column_named("c").unwrap().is_none());
        let twice = parse("x,b,X\n");
        assert!(twice.column_named("X").unwrap() == Some(2));
        let dup = parse("x,b,x\n");
        assert!(dup.column_named("x").is_err());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_read_not_refused() {
        let export =
            Export::parse(b"Student,ID,SIS Login ID\nJos\xe9,1,j\n".to_vec(), "e").unwrap();
        assert!(export.not_utf8);
        assert_eq!(export.rows[0].text(0), "Jos\u{fffd}");
    }
}
