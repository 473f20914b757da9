//! The filled copy of an export: every row that gets no grade is copied
//! byte for byte (its quoting, its line ending, a BOM, blank lines), and
//! a row that gets one is written again with the export's separator, its
//! own line ending and the export's way of quoting, which is read off the
//! header: only where needed (Canvas), also around spaces (Moodle, through
//! PHP's fputcsv), or everywhere.

use super::export::Export;
use std::collections::BTreeMap;

/// When a field is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// Only when it holds the separator, a quote or a line ending.
    Needed,
    /// Also when it holds a space or a tab (PHP's `fputcsv`).
    AroundSpaces,
    /// Always.
    Always,
}

/// The export's bytes with `cells` (row index → column → new text) put in.
pub fn filled(export: &Export, cells: &BTreeMap<usize, (usize, String)>) -> Vec<u8> {
    let quoting = quoting_of(export);
    let bytes = &export.bytes;
    let mut out = Vec::with_capacity(bytes.len() + cells.len() * 8);
    let mut copied_to = 0;
    for (&index, (column, text)) in cells {
        let row = &export.rows[index];
        out.extend_from_slice(&bytes[copied_to..row.span.start]);
        let mut fields = row.cells.clone();
        if fields.len() <= *column {
            fields.resize(column + 1, Vec::new());
        }
        fields[*column] = text.as_bytes().to_vec();
        out.extend_from_slice(&render(&fields, export.delimiter, quoting));
        copied_to = row.span.end;
    }
    out.extend_from_slice(&bytes[copied_to..]);
    out
}

/// How the export quotes, judged by which rendering gives its header's
/// bytes back; `Needed` when none does.
fn quoting_of(export: &Export) -> Quoting {
    let header = &export.bytes[export.header_span.clone()];
    [Quoting::Needed, Quoting::AroundSpaces, Quoting::Always]
        .into_iter()
        .find(|&quoting| render(&export.header_cells, export.delimiter, quoting) == header)
        .unwrap_or(Quoting::Needed)
}

/// One row's fields as CSV text, without a line ending.
fn render(fields: &[Vec<u8>], delimiter: u8, quoting: Quoting) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        out.extend_from_slice(&render_field(field, delimiter, quoting));
    }
    out
}

/// One field as CSV text, written by the csv crate so that its quotes and
/// escapes are right.
fn render_field(field: &[u8], delimiter: u8, quoting: Quoting) -> Vec<u8> {
    let spaced = field.iter().any(|&b| b == b' ' || b == b'\t');
    let always = match quoting {
        Quoting::Always => true,
        Quoting::AroundSpaces => spaced,
        Quoting::Needed => false,
    };
    if field.is_empty() && !always {
        // The csv crate quotes a record of one empty field, which this
        // field is to it; in a row it is nothing.
        return Vec::new();
    }
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote_style(if always {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer
        .write_record([field])
        .expect("writing to a Vec cannot fail");
    let mut bytes = writer
        .into_inner()
        .expect("flushing into a Vec cannot fail");
    bytes.pop();
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(text: &str, row: usize, column: usize, value: &str) -> String {
        let export = Export::parse(text.as_bytes().to_vec(), "e.csv").unwrap();
        let cells = BTreeMap::from([(row, (column, value.to_string()))]);
        String::from_utf8(filled(&export, &cells)).unwrap()
    }

    #[test]
    fn only_the_filled_row_changes_and_it_keeps_its_line_ending() {
        let text = "\u{feff}Student,ID,SIS Login ID,Lab (1)\r\n\"Doe, Jane\",1,jdoe,\r\n\r\n\"Roe\",2,rroe,\n";
        assert_eq!(
            fill(text, 1, 3, "8.5"),
            "\u{feff}Student,ID,SIS Login ID,Lab (1)\r\n\"Doe, Jane\",1,jdoe,\r\n\r\nRoe,2,rroe,8.5\n"
        );
        assert_eq!(
            fill(text, 0, 3, "10"),
            "\u{feff}Student,ID,SIS Login ID,Lab (1)\r\n\"Doe, Jane\",1,jdoe,10\r\n\r\n\"Roe\",2,rroe,\n"
        );
    }

    #[test]
    fn a_short_row_is_filled_out_to_the_column() {
        assert_eq!(fill("a,b,c\nx\n", 0, 2, "1"), "a,b,c\nx,,1\n");
        assert_eq!(fill("a,b,c\nx", 0, 1, "1"), "a,b,c\nx,1");
    }

    #[test]
    fn the_rewritten_row_is_quoted_as_the_header_is() {
        // Moodle (fputcsv): around spaces.
        let moodle = "\"First name\",Email,\"Assignment: Lab (Real)\"\nAnn,\"a b\",-\n";
        assert_eq!(
            fill(moodle, 0, 2, "7"),
            "\"First name\",Email,\"Assignment: Lab (Real)\"\nAnn,\"a b\",7\n"
        );
        let always = "\"a\",\"b\",\"c\"\n\"x\",\"y\",\"\"\n";
        assert_eq!(
            fill(always, 0, 2, "3"),
            "\"a\",\"b\",\"c\"\n\"x\",\"y\",\"3\"\n"
        );
        // Quotes, separators and line endings inside a field survive.
        let needed = "a;b;c\n\"say \"\"hi\"\"\";\"x;\r\ny\";\n";
        assert_eq!(
            fill(needed, 0, 2, "4,5"),
            "a;b;c\n\"say \"\"hi\"\"\";\"x;\r\ny\";4,5\n"
        );
    }
}
