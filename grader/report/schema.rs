//! JSON Schemas (draft 2020-12) of the JSON files sockgrade writes, made
//! by schemars from the very types that write them, so a schema cannot
//! drift from the files. `sockgrade schema KIND` prints one; the package
//! ships them in `share/sockgrade/schemas/`.

use crate::outcome::SubmissionReport;
use crate::summary::Summary;

/// The documents that have a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    /// A submission's `results.json` (`grade --json`).
    Results,
    /// A batch's `summary.json`.
    Summary,
    /// Gradescope's `results.json` (`grade --gradescope`).
    Gradescope,
}

impl Document {
    /// Every document, in the order the files are listed.
    pub const ALL: [Document; 3] = [Document::Results, Document::Summary, Document::Gradescope];

    /// The schema's file name: `results.schema.json`.
    pub fn file_name(self) -> &'static str {
        match self {
            Document::Results => "results.schema.json",
            Document::Summary => "summary.schema.json",
            Document::Gradescope => "gradescope.schema.json",
        }
    }
}

/// The schema of `document`, as pretty JSON ending with a newline.
pub fn render(document: Document) -> Vec<u8> {
    let schema = match document {
        Document::Results => schemars::schema_for!(SubmissionReport),
        Document::Summary => schemars::schema_for!(Summary),
        Document::Gradescope => super::gradescope::schema(),
    };
    super::json::pretty(&schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schema_is_json_naming_its_fields() {
        for (document, field) in [
            (Document::Results, "exercises"),
            (Document::Summary, "needs_attention"),
            (Document::Gradescope, "tests"),
        ] {
            let schema: serde_json::Value = serde_json::from_slice(&render(document)).unwrap();
            assert_eq!(
                schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
            assert!(
                schema["properties"][field].is_object(),
                "{document:?}: {schema}"
            );
        }
    }
}
