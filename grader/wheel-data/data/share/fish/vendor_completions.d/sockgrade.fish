# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sockgrade_global_optspecs
    string join \n h/help V/version
end

function __fish_sockgrade_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sockgrade_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sockgrade_using_subcommand
    set -l cmd (__fish_sockgrade_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sockgrade -n "__fish_sockgrade_needs_command" -s h -l help -d 'Print help'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -s V -l version -d 'Print version'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "grade" -d 'Grade the submission in a folder (default: the current folder)'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "batch" -d 'Grade every submission in a folder (a subfolder, .zip or .tar.gz each) into a gradebook'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "merge" -d 'Merge the output folders of sharded batch runs into one'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "gradebook" -d 'Fill an assignment\'s column of the gradebook exported from Canvas or Moodle with a batch\'s scores, ready to import'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "peer" -d 'Play the grader\'s side of one exercise, live, while you run your program by hand (instead of netcat)'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "explain" -d 'Say in plain words what the grader does and accepts in an exercise'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "list" -d 'List the exercises: id, role, port and points'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "schema" -d 'Print the JSON Schema of a JSON file sockgrade writes: a submission\'s results.json, a batch\'s summary.json, or Gradescope\'s results.json'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "completions" -d 'Print a completion script for SHELL: `sockgrade completions bash > ~/.local/share/bash-completion/completions/sockgrade`'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "man" -d 'Print the manual page (roff, for `man -l -`), or with --out write one page per command into a folder (sockgrade.1, sockgrade-grade.1, ...)'
complete -c sockgrade -n "__fish_sockgrade_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -s e -l exercise -d 'Grade only this exercise (repeat for several)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l json -d 'Also write the results as JSON to FILE (`-` for stdout)' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l junit -d 'Also write the results as JUnit XML to FILE (`-` for stdout)' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l gradescope -d 'Also write Gradescope\'s results.json to FILE (`-` for stdout)' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l html -d 'Also write a self-contained HTML page of the results to FILE (`-` for stdout): each exercise\'s verdict, hint and conversation' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l missing -d 'How the JUnit report shows a missing exercise: a failure (a grade), or skipped (a student\'s own CI, before every exercise is started)' -r -f -a "failure\t'A failure: right for a grade, where it costs its points'
skipped\t'Skipped: for a student\'s own CI, where exercises not yet started should not be red annotations'"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l isolation -d 'Namespaces for the student\'s programs: `auto` uses them where the kernel allows (Linux), so fixed ports are private to this grade' -r -f -a "auto\t'Namespaces where the kernel allows them, else none'
namespace\t'Namespaces, or an error if the kernel does not allow them'
none\t'No namespaces'"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l memory -d 'Memory limit of each student program, in MiB' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l run-as -d 'When sockgrade runs as root, the user student programs run as (a name or a numeric uid)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l seed -d 'Seed for the random values; a report\'s seed replays its run' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l exercises -d 'Use the exercises in FILE instead of the notebook\'s embedded ones' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l timeout-scale -d 'Multiply every timeout by F (for a slow machine, or a debugger)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l robust -d 'Replay every exercise that passes with the grader\'s side changed as a real network changes TCP: `split` (messages in small segments), `coalesce` (two messages in one), `slow-start` (a pause before the first); all three when none is named. Feedback beside the score: scores, grades.csv and the exit code stay the normal tier\'s. Without it, each exercise\'s own `robustness` applies' -r -f -a "split\t'Every message the grader sends arrives in two to four segments, the first of one to three bytes, each sent once the program has read the one before: a `recv` returns part of a message'
coalesce\t'Two messages the grader sends with no answer between them arrive in one segment: a `recv` returns both'
slow-start\t'The grader\'s first message comes after a pause of 1 to 1.5 s, as across a slow network: a program must wait as long as it takes'"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -s j -l jobs -d 'How many exercises run at once (default: twice the number of CPUs)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -l color -d 'When to colour the report: auto (on a terminal, unless NO_COLOR is set or TERM is dumb; CLICOLOR_FORCE forces it), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -s v -l verbose -d 'Show the transcript of every exercise, passed ones too'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -s q -l quiet -d 'Show only the summary line'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand grade" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l out -d 'The output folder: per-submission results, grades.csv, summary.json' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -s j -l jobs -d 'Most submissions graded at once (default: eight per CPU, since grading is mostly waiting; a new one starts only while the machine has CPU to spare)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l shard -d 'Grade only part K of N of the submissions (sorted by name); needs --seed so that every shard draws the same values. `auto` (or `auto/N`) takes K and N from a Slurm job array, a Kubernetes Indexed Job or SOCKGRADE_SHARD_INDEX and SOCKGRADE_SHARD_COUNT' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l seed -d 'Seed of the random values (each submission\'s is derived from it)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -s e -l exercise -d 'Grade only this exercise (repeat for several)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l exercises -d 'Use the exercises in FILE instead of the notebook\'s embedded ones' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l timeout-scale -d 'Multiply every timeout by F' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l robust -d 'Replay every exercise that passes with the grader\'s side changed as a real network changes TCP: `split` (messages in small segments), `coalesce` (two messages in one), `slow-start` (a pause before the first); all three when none is named. Feedback beside the score: scores, grades.csv and the exit code stay the normal tier\'s. Without it, each exercise\'s own `robustness` applies' -r -f -a "split\t'Every message the grader sends arrives in two to four segments, the first of one to three bytes, each sent once the program has read the one before: a `recv` returns part of a message'
coalesce\t'Two messages the grader sends with no answer between them arrive in one segment: a `recv` returns both'
slow-start\t'The grader\'s first message comes after a pause of 1 to 1.5 s, as across a slow network: a program must wait as long as it takes'"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l isolation -d 'Namespaces per submission: `auto` where the kernel allows, else one submission at a time' -r -f -a "auto\t'Namespaces where the kernel allows them, else none'
namespace\t'Namespaces, or an error if the kernel does not allow them'
none\t'No namespaces'"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l memory -d 'Memory limit of each student program, in MiB' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l run-as -d 'When sockgrade runs as root, the user student programs run as (a name or a numeric uid)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l color -d 'When to colour the report: auto (on a terminal, unless NO_COLOR is set or TERM is dumb; CLICOLOR_FORCE forces it), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -l resume -d 'Keep the submissions already graded in OUT; grade only the rest'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -s q -l quiet -d 'No line per submission and no table at the end: only notes, problems and one closing line'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand batch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand merge" -l out -d 'Where to write the merged gradebook, summary and JUnit' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand merge" -l color -d 'When to colour the report: auto (on a terminal, unless NO_COLOR is set or TERM is dumb; CLICOLOR_FORCE forces it), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand merge" -l allow-partial -d 'Merge the shards given even if some of the run\'s shards are not among them (said on stderr), instead of refusing'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand merge" -s q -l quiet -d 'Only one closing line, no table'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand merge" -s h -l help -d 'Print help'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand gradebook" -l lms -d 'The gradebook exported from the LMS: Canvas\'s Grades › Export, or Moodle\'s Export › Plain text file' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand gradebook" -l column -d 'The assignment\'s column to fill: its header (`Sockets Lab (12345)`, `Assignment: Sockets Lab (Real)`), the assignment\'s name alone (`Sockets Lab`), or Canvas\'s assignment id' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand gradebook" -l match -d 'The export\'s column that submission names are values of (a login, an email, a student id); default: `SIS Login ID` for Canvas, `Email address` for Moodle' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand gradebook" -l roster -d 'A CSV saying whose each submission is, for other folder names: a `submission` column and the --match column (or `key`)' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand gradebook" -l out-of -d 'Scale every score to POINTS (default: the column\'s Points Possible in a Canvas export, else sockgrade\'s own points)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand gradebook" -l write -d 'Where to write the filled gradebook (`-` for stdout), to import into the LMS; written whole or not at all' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand gradebook" -s h -l help -d 'Print help'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand peer" -l seed -d 'Seed for the random values' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand peer" -l timeout-scale -d 'Multiply every timeout by F (default 10: people type, debuggers pause)' -r
complete -c sockgrade -n "__fish_sockgrade_using_subcommand peer" -l variant -d 'Send as a real network delivers TCP: `split` (each message in small segments), `coalesce` (two messages in one) or `slow-start` (a pause before the first), as `grade --robust` does' -r -f -a "split\t'Every message the grader sends arrives in two to four segments, the first of one to three bytes, each sent once the program has read the one before: a `recv` returns part of a message'
coalesce\t'Two messages the grader sends with no answer between them arrive in one segment: a `recv` returns both'
slow-start\t'The grader\'s first message comes after a pause of 1 to 1.5 s, as across a slow network: a program must wait as long as it takes'"
complete -c sockgrade -n "__fish_sockgrade_using_subcommand peer" -l exercises -d 'Use the exercises in FILE instead of the notebook\'s embedded ones' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand peer" -l repeat -d 'Keep going: a new conversation each time you rerun your program'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand peer" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand explain" -l exercises -d 'Use the exercises in FILE instead of the notebook\'s embedded ones' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand explain" -s h -l help -d 'Print help'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand list" -l exercises -d 'Use the exercises in FILE instead of the notebook\'s embedded ones' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand list" -s h -l help -d 'Print help'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand schema" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand completions" -s h -l help -d 'Print help'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand man" -l out -d 'The folder to write every page into' -r -F
complete -c sockgrade -n "__fish_sockgrade_using_subcommand man" -s h -l help -d 'Print help'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "grade" -d 'Grade the submission in a folder (default: the current folder)'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "batch" -d 'Grade every submission in a folder (a subfolder, .zip or .tar.gz each) into a gradebook'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "merge" -d 'Merge the output folders of sharded batch runs into one'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "gradebook" -d 'Fill an assignment\'s column of the gradebook exported from Canvas or Moodle with a batch\'s scores, ready to import'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "peer" -d 'Play the grader\'s side of one exercise, live, while you run your program by hand (instead of netcat)'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "explain" -d 'Say in plain words what the grader does and accepts in an exercise'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "list" -d 'List the exercises: id, role, port and points'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "schema" -d 'Print the JSON Schema of a JSON file sockgrade writes: a submission\'s results.json, a batch\'s summary.json, or Gradescope\'s results.json'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "completions" -d 'Print a completion script for SHELL: `sockgrade completions bash > ~/.local/share/bash-completion/completions/sockgrade`'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "man" -d 'Print the manual page (roff, for `man -l -`), or with --out write one page per command into a folder (sockgrade.1, sockgrade-grade.1, ...)'
complete -c sockgrade -n "__fish_sockgrade_using_subcommand help; and not __fish_seen_subcommand_from grade batch merge gradebook peer explain list schema completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
