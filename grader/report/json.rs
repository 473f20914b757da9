//! The JSON report: the [`SubmissionReport`] as it is, pretty-printed. Its
//! field names are the documented, versioned format (`schema_version`).

use crate::outcome::SubmissionReport;

/// Renders the report as pretty JSON, ending with a newline.
pub fn render(report: &SubmissionReport) -> Vec<u8> {
    pretty(report)
}

/// Any of our result values as pretty JSON, ending with a newline (the
/// JSON writers of every format go through here).
pub(crate) fn pretty(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect(
        "results are plain structs, strings and numbers, which always serialize \
         (serde_json writes a non-finite number as null rather than failing)",
    );
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;
    use serde_json::Value;

    fn parsed() -> Value {
        let bytes = render(&sample_report());
        assert_eq!(bytes.last(), Some(&b'\n'));
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn has_the_documented_submission_fields() {
        let json = parsed();
        assert_eq!(json["schema_version"], crate::outcome::SCHEMA_VERSION);
        assert_eq!(json["submission"], "alice");
        assert_eq!(json["score"], 1.0);
        assert_eq!(json["max_score"], 4.0);
        assert_eq!(json["seed"], 12345);
        assert_eq!(json["duration_ms"], 1234);
        assert_eq!(json["exercises"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn has_the_documented_exercise_fields() {
        let json = parsed();
        let failed = &json["exercises"][1];
        assert_eq!(failed["id"], "client-1");
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["score"], 0.0);
        assert_eq!(failed["max_score"], 1.0);
        assert_eq!(failed["duration_ms"], 2000);
        assert_eq!(failed["expected"], "How do you do?");
        assert!(
            failed["message"]
                .as_str()
                .unwrap()
                .ends_with("hint: print it")
        );
        assert!(failed["stdout"].as_str().unwrap().starts_with("line one\n"));
        assert_eq!(failed["stderr"], "");
        let entry = &failed["transcript"][1];
        assert_eq!(entry["at_ms"], 5);
        assert_eq!(entry["direction"], "received");
        assert_eq!(json["exercises"][2]["exit"]["code"], 1);
        assert_eq!(json["exercises"][3]["status"], "missing");
        assert_eq!(json["exercises"][3]["command"], Value::Null);
    }

    #[test]
    fn isolation_and_protections_are_values_with_stable_names() {
        use crate::outcome::{Isolation, Protection};
        let mut report = sample_report();
        report.isolation = Isolation::Namespaces;
        report.protections = vec![
            Protection::Cgroup {
                version: 2,
                limits_memory: true,
                limits_processes: true,
                equal_cpu_share: false,
                memory_mib: 512,
                processes: 64,
            },
            Protection::Landlock {
                abi: 6,
                reads_limited: true,
            },
            Protection::User {
                uid: 65534,
                gid: 65534,
            },
            Protection::IpcNamespace,
            Protection::Seccomp { refuses_ipc: false },
            Protection::MemoryWatchdog {
                memory_mib: 512,
                sample_interval_ms: 20,
            },
            Protection::Rlimits {
                file_size_mib: 64,
                descriptors: 1024,
                address_space_mib: None,
            },
        ];
        let json: Value = serde_json::from_slice(&render(&report)).unwrap();
        assert_eq!(json["isolation"], "namespaces");
        assert_eq!(
            json["protections"],
            serde_json::json!([
                {"kind": "cgroup", "version": 2, "limits_memory": true,
                 "limits_processes": true, "equal_cpu_share": false,
                 "memory_mib": 512, "processes": 64},
                {"kind": "landlock", "abi": 6, "reads_limited": true},
                {"kind": "user", "uid": 65534, "gid": 65534},
                {"kind": "ipc_namespace"},
                {"kind": "seccomp", "refuses_ipc": false},
                {"kind": "memory_watchdog", "memory_mib": 512, "sample_interval_ms": 20},
                {"kind": "rlimits", "file_size_mib": 64, "descriptors": 1024,
                 "address_space_mib": null},
            ])
        );
        let back: crate::outcome::SubmissionReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.protections, report.protections);
        assert_eq!(back.isolation, Isolation::Namespaces);
    }

    #[test]
    fn round_trips_hostile_text_exactly() {
        let json = parsed();
        let report = sample_report();
        assert_eq!(json["exercises"][1]["message"], report.exercises[1].message);
        assert_eq!(
            json["exercises"][1]["transcript"][1]["text"],
            report.exercises[1].transcript[1].text
        );
    }
}
