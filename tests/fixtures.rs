//! Every sample submission in `fixtures/submissions/` gets the verdicts its
//! `expected.json` lists, graded by the built binary with real processes
//! and real sockets.

mod common;

use std::path::Path;

/// Grades a fixture and compares every exercise's verdict with its
/// `expected.json` (exercises it does not list must be `missing`).
fn gets_its_expected_verdicts(name: &str) {
    let folder = common::submission(name);
    let expected = common::expected(name, "verdicts");
    let (code, report) = common::grade_json(&folder, &[]);
    let mut wrong = Vec::new();
    for (id, status) in common::statuses(&report) {
        let want = expected.get(&id).map_or("missing", String::as_str);
        if status != want {
            let message = &common::exercise(&report, &id)["message"];
            wrong.push(format!("{id}: got {status}, expected {want} ({message})"));
        }
    }
    assert!(wrong.is_empty(), "{name}:\n  {}", wrong.join("\n  "));
    let all_passed = common::statuses(&report).iter().all(|(_, s)| s == "passed");
    assert_eq!(code, if all_passed { 0 } else { 1 }, "{name}: exit code");
}

macro_rules! fixture_tests {
    ($($test:ident => $folder:literal,)*) => {
        $(
            #[test]
            fn $test() {
                require_namespace!();
                gets_its_expected_verdicts($folder);
            }
        )*

        const COVERED: &[&str] = &[$($folder),*];
    };
}

fixture_tests! {
    reference_python_passes_every_exercise => "reference-python",
    reference_shell_passes_its_client_exercises => "reference-shell",
    reference_c_is_built_by_its_manifest_and_passes_every_exercise => "reference-c",
    wrong_text_fails => "wrong-text",
    a_reply_received_but_not_printed_fails => "reply-not-printed",
    programs_that_crash_at_start_are_crashed => "crash-at-start",
    programs_that_hang_time_out => "hang",
    programs_on_the_wrong_port_fail_or_time_out => "wrong-port",
    a_folder_without_programs_is_all_missing => "missing",
    underscore_names_and_bare_executables_are_found => "misnamed",
    messages_without_newlines_pass => "no-newlines",
    messages_split_over_several_sends_pass => "split-sends",
    crlf_line_endings_pass => "crlf",
    slow_starting_programs_pass => "slow-start",
    servers_that_accept_once_and_exit_pass => "accept-once-exit",
    servers_without_reuseaddr_pass => "no-reuseaddr",
    a_client_connecting_over_ipv6_loopback_passes => "ipv6-localhost",
    a_dual_stack_server_is_reached_over_ipv4_and_passes => "dual-stack-server",
    clients_reading_until_the_server_closes_pass => "reads-until-eof",
    right_answers_split_by_a_pause_pass => "pause-between-parts",
    a_server_4_echoing_exit_instead_of_prompting_fails => "server-4-echoes-exit",
    a_client_2_sending_3_before_receiving_2_fails => "client-2-does-not-wait",
    binary_garbage_from_a_program_is_a_crash_with_readable_evidence => "hostile-binary-spew",
    a_daemon_holding_the_port_times_out => "hostile-daemon",
    classic_mistakes_fail => "hint-mistakes",
    mistakes_that_had_no_hint_fail => "unnamed-mistakes",
    more_mistakes_that_had_no_hint_fail_or_are_missing => "unnamed-mistakes-2",
    an_output_flood_fails_without_filling_the_grader => "hostile-output-flood",
    a_socket_flood_fails_without_filling_the_grader => "hostile-socket-flood",
    a_fork_spree_times_out => "hostile-fork-spree",
    a_memory_hog_crashes => "hostile-memory-hog",
    programs_ignoring_signals_or_stopped_time_out => "hostile-signal-ignorer",
    a_dribbler_fails_by_the_step_deadline => "hostile-dribbler",
    a_parent_killer_fails_and_the_grade_goes_on => "hostile-parent-killer",
    a_program_writing_outside_its_folder_still_passes_but_writes_nothing_there => "hostile-writes-outside",
    programs_overwriting_each_others_files_all_pass => "hostile-scribbler",
    a_program_typing_into_the_terminal_still_passes => "hostile-tty",
    a_client_thinking_for_two_seconds_of_cpu_passes => "cpu-heavy-client",
    a_program_looking_for_inherited_descriptors_still_passes => "hostile-descriptors",
    a_program_leaving_ipc_objects_still_passes => "hostile-ipc",
    a_program_calling_unix_sockets_still_passes => "hostile-unix-sockets",
    a_program_hoarding_descriptors_still_passes => "hostile-descriptor-hog",
    a_program_spinning_busy_processes_times_out => "hostile-cpu-hog",
    a_nodejs_client_and_server_pass => "lang-node",
    nodejs_mistakes_fail_or_time_out => "lang-node-wrong",
    a_go_program_built_by_its_manifest_passes => "lang-go",
    go_mistakes_fail => "lang-go-wrong",
    c_mistakes_fail => "lang-c-wrong",
    java_single_file_programs_pass => "lang-java",
    java_mistakes_fail_or_time_out => "lang-java-wrong",
    ruby_executables_with_a_shebang_pass => "lang-ruby",
    ruby_mistakes_fail => "lang-ruby-wrong",
    perl_executables_with_a_shebang_pass => "lang-perl",
    perl_mistakes_crash_or_time_out => "lang-perl-wrong",
    netcat_shell_programs_pass => "lang-netcat",
    netcat_shell_mistakes_time_out => "lang-netcat-wrong",
    programs_that_frame_their_messages_pass => "robust-python",
    programs_reading_byte_by_byte_pass => "byte-by-byte",
    an_impatient_client_passes => "impatient",
    a_server_answering_the_first_line_of_each_recv_passes => "first-line-only",
}

#[test]
fn every_sample_submission_has_a_test() {
    let folders: Vec<String> = std::fs::read_dir(common::submissions())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // Built by its own test first (tests/rust_reference.rs): as root the
    // manifest's build runs as an unprivileged user, who cannot reach a
    // rustup toolchain under /root.
    // hostile-disk-filler needs a memory limit above the disk's: its test
    // is in tests/escapes.rs.
    let covered_elsewhere = [
        "reference-rust",
        "hostile-disk-filler",
        // Its exercises are its own file: tests/load.rs.
        "java-eight-clients",
    ];
    for folder in &folders {
        assert!(
            COVERED.contains(&folder.as_str()) || covered_elsewhere.contains(&folder.as_str()),
            "fixtures/submissions/{folder} has no test in tests/fixtures.rs"
        );
        assert!(
            Path::new(&common::submissions())
                .join(folder)
                .join("expected.json")
                .is_file(),
            "fixtures/submissions/{folder} has no expected.json"
        );
    }
}
