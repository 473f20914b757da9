//! The robustness tier (`--robust`, or an exercise's `robustness`): the
//! conversation replayed with the grader's sends split, coalesced or
//! slow to start. Real programs from `fixtures/submissions/`, whose
//! `expected.json` gives the tier's verdict per exercise under `robust`
//! (`passed` when every variant passed).

mod common;

use serde_json::Value;
use std::collections::BTreeMap;

/// Each exercise's robustness: `passed` when every variant passed.
fn robust_verdicts(report: &Value) -> BTreeMap<String, String> {
    report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let variants = e["robustness"].as_array()?;
            let all = variants.iter().all(|v| v["status"] == "passed");
            Some((
                e["id"].as_str().unwrap().to_string(),
                if all { "passed" } else { "failed" }.to_string(),
            ))
        })
        .collect()
}

/// Grades `name` with `--robust` and checks the normal tier's verdicts and
/// exit code are what they are without it, and the tier's its own; the
/// report, for more checks.
fn gets_its_expected_robustness(name: &str, seed: &str) -> Value {
    let folder = common::submission(name);
    let robust = common::expected(name, "robust");
    let verdicts = common::expected(name, "verdicts");
    let (code, report) = common::grade_json(&folder, &["--robust", "--seed", seed]);
    let normal: BTreeMap<String, String> = common::statuses(&report)
        .into_iter()
        .filter(|(_, status)| status != "missing")
        .collect();
    assert_eq!(normal, verdicts, "{name}: the normal tier's verdicts");
    let all_passed = common::statuses(&report).iter().all(|(_, s)| s == "passed");
    assert_eq!(
        code,
        i32::from(!all_passed),
        "{name}: the tier leaves the exit code alone"
    );
    // Each notebook exercise is a point, won in the normal tier alone.
    let passed = verdicts.values().filter(|v| *v == "passed").count();
    assert_eq!(report["score"].as_f64(), Some(passed as f64), "{name}");
    let got = robust_verdicts(&report);
    let mut wrong = Vec::new();
    for (id, want) in &robust {
        let have = got.get(id).map_or("(not replayed)", String::as_str);
        if have != want {
            let variants = &common::exercise(&report, id)["robustness"];
            wrong.push(format!("{id}: got {have}, expected {want}: {variants}"));
        }
    }
    assert_eq!(got.len(), robust.len(), "{name}: replayed {got:?}");
    assert!(
        wrong.is_empty(),
        "{name} (seed {seed}):\n  {}",
        wrong.join("\n  ")
    );
    report
}

#[test]
fn programs_that_frame_their_messages_pass_every_variant() {
    require_namespace!();
    let report = gets_its_expected_robustness("robust-python", "11");
    // `--robust` alone asks for all three, each where it changes something:
    // coalesce only in server-4, none in server-1 (the grader never speaks).
    let replayed = |id: &str| -> Vec<String> {
        common::exercise(&report, id)["robustness"]
            .as_array()
            .map(|variants| {
                variants
                    .iter()
                    .map(|v| v["variant"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(replayed("server-4"), ["split", "coalesce", "slow-start"]);
    assert_eq!(replayed("client-4"), ["split", "slow-start"]);
    assert!(replayed("server-1").is_empty());
}

#[test]
fn notebook_style_programs_pass_the_normal_tier_and_fail_split() {
    require_namespace!();
    gets_its_expected_robustness("reference-python", "12");
}

#[test]
fn programs_reading_byte_by_byte_pass_both_tiers() {
    require_namespace!();
    gets_its_expected_robustness("byte-by-byte", "13");
}

#[test]
fn an_impatient_client_fails_the_slow_start_with_its_hint() {
    require_namespace!();
    gets_its_expected_robustness("impatient", "14");
    let folder = common::submission("impatient");
    let (_, report) = common::grade_json(&folder, &["--robust=slow-start,split"]);
    let variants = common::exercise(&report, "client-4")["robustness"]
        .as_array()
        .unwrap()
        .clone();
    let by_name = |name: &str| variants.iter().find(|v| v["variant"] == name).unwrap();
    assert_eq!(by_name("split")["status"], "passed");
    let slow = by_name("slow-start");
    assert_ne!(slow["status"], "passed", "{slow}");
    assert!(
        slow["hint"]
            .as_str()
            .unwrap()
            .contains("as long as it takes"),
        "{slow}"
    );
    let waited = slow["transcript"].as_array().unwrap().iter().any(|t| {
        t["direction"] == "event"
            && t["text"]
                .as_str()
                .unwrap()
                .contains("before its first message")
    });
    assert!(waited, "{slow}");
}

#[test]
fn a_server_dropping_the_second_of_two_messages_in_one_recv_fails_coalesce() {
    require_namespace!();
    gets_its_expected_robustness("first-line-only", "15");
    let folder = common::submission("first-line-only");
    let (_, report) = common::grade_json(&folder, &["--robust=coalesce", "--seed", "16"]);
    let coalesce = &common::exercise(&report, "server-4")["robustness"][0];
    assert_eq!(coalesce["variant"], "coalesce");
    assert_ne!(coalesce["status"], "passed", "{coalesce}");
    assert!(
        coalesce["hint"]
            .as_str()
            .unwrap()
            .contains("two messages at once"),
        "{coalesce}"
    );
    // The two messages went out as one segment: one entry in the transcript.
    let together = coalesce["transcript"].as_array().unwrap().iter().any(|t| {
        t["direction"] == "sent" && t["text"].as_str().unwrap().matches("\\n").count() == 2
    });
    assert!(together, "{coalesce}");
}

#[test]
fn a_split_message_shows_its_segments_and_the_byte_stream_hint() {
    require_namespace!();
    let folder = common::submission("reference-python");
    let (_, report) = common::grade_json(&folder, &["-e", "client-4", "--robust=split"]);
    let client_4 = common::exercise(&report, "client-4");
    assert_eq!(client_4["status"], "passed");
    let split = &client_4["robustness"][0];
    assert_eq!(split["variant"], "split");
    assert_eq!(split["status"], "failed", "{split}");
    assert!(
        split["hint"].as_str().unwrap().contains("stream of bytes"),
        "{split}"
    );
    // The program answered the first segment alone: a word's first bytes.
    let expected = split["expected"].as_str().unwrap();
    let word = expected.trim_matches('`').trim_start_matches("doubled:");
    let word = &word[..word.len() / 2];
    let sent: Vec<&str> = split["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["direction"] == "sent")
        .map(|t| t["text"].as_str().unwrap())
        .collect();
    assert!(!sent.is_empty() && sent[0].len() <= 3, "{sent:?}");
    assert!(word.starts_with(sent[0]), "{sent:?} of {word}");
    let received = split["received"].as_str().unwrap();
    assert_eq!(received, format!("doubled:{0}{0}\\n", sent[0]));
}

#[test]
fn the_same_seed_replays_the_same_segments() {
    require_namespace!();
    let folder = common::submission("robust-python");
    let segments = || {
        let args = ["-e", "server-3", "--robust=split", "--seed", "99"];
        let (_, report) = common::grade_json(&folder, &args);
        let split = &common::exercise(&report, "server-3")["robustness"][0];
        assert_eq!(split["status"], "passed", "{split}");
        split["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["direction"] == "sent")
            .map(|t| t["text"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first = segments();
    // Two numbers, each in two segments at least.
    assert!(first.len() >= 4, "{first:?}");
    assert_eq!(first, segments());
}

#[test]
fn an_exercise_file_asks_for_its_own_variants_and_the_notebook_for_none() {
    require_namespace!();
    let folder = common::submission("reference-python");
    let (_, plain) = common::grade_json(&folder, &["-e", "client-4"]);
    assert!(
        common::exercise(&plain, "client-4")
            .get("robustness")
            .is_none()
    );

    let notebook: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/exercises/notebook.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut client_4 = notebook["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "client-4")
        .unwrap()
        .clone();
    client_4["robustness"] = serde_json::json!(["split"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("robust.json");
    let set = serde_json::json!({"format": notebook["format"], "exercises": [client_4]});
    std::fs::write(&file, set.to_string()).unwrap();
    let (code, report) = common::grade_json(&folder, &["--exercises", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    let variants = common::exercise(&report, "client-4")["robustness"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(variants.len(), 1, "{variants:?}");
    assert_eq!(variants[0]["variant"], "split");
    assert_eq!(variants[0]["status"], "failed");
}

#[test]
fn an_unknown_variant_is_refused_with_exit_code_2() {
    let output = common::sockgrade_here(&["grade", "--robust=jitter", "."]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("jitter") && stderr.contains("slow-start"),
        "{stderr}"
    );
}

#[test]
fn a_batch_replays_too_and_its_gradebook_keeps_the_normal_score() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    let submissions = dir.path().join("in");
    std::fs::create_dir(&submissions).unwrap();
    common::copy_tree(
        &common::submission("reference-python"),
        &submissions.join("alice"),
    );
    let out = dir.path().join("out");
    let output = common::sockgrade(&[
        "batch",
        submissions.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-e",
        "client-4",
        "-e",
        "server-1",
        "--robust",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // The same columns and scores as without the tier.
    let grades = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    assert_eq!(
        grades,
        "submission,score,max_score,needs_review,reason,client-4,server-1,client-4 status,server-1 status\n\
         alice,2,2,no,,1,1,passed,passed\n"
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alice/results.json")).unwrap())
            .unwrap();
    let client_4 = common::exercise(&results, "client-4");
    assert_eq!(client_4["robustness"][0]["status"], "failed");
    // The class sees how many programs held up, beside the pass rates.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let rates = summary["exercises"].as_array().unwrap();
    let client_4 = rates.iter().find(|e| e["id"] == "client-4").unwrap();
    assert_eq!(client_4["robustness"]["replayed"], 1, "{client_4}");
    assert_eq!(client_4["robustness"]["passed"], 0, "{client_4}");
    let class = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        class.contains("data-robust-passed=\"0\" data-robust-replayed=\"1\">0 / 1</td>"),
        "{class}"
    );
}

#[test]
fn the_tier_gives_the_same_verdicts_to_a_normal_user() {
    require_namespace!();
    let args = [
        "-e",
        "client-4",
        "-e",
        "server-3",
        "--robust=split",
        "--seed",
        "21",
    ];
    for (name, want) in [("reference-python", "failed"), ("robust-python", "passed")] {
        let (_, report) = common::grade_json_as_user(&common::submission(name), &args);
        let got = robust_verdicts(&report);
        assert_eq!(got.len(), 2, "{name}: {got:?}");
        assert!(got.values().all(|v| v == want), "{name}: {got:?}");
    }
}
