//! The class page of a batch: the spread of scores as SVG bars, the pass
//! rate of each exercise, the most common failure messages and hints with
//! links to the submissions that got them, the submissions a person should
//! look at, and a table of every submission (sortable by its one script)
//! linking to each one's own page.

use super::{FILE_NAME, escape, page, text};
use crate::outcome::SubmissionReport;
use crate::report::evidence::points;
use crate::summary::{self, ScoreCount, Summary};
use crate::text::truncate_chars;
use std::fmt::Write;

/// Most failure messages (and hints) listed, the most common first.
const MAX_COMMON: usize = 10;
/// Longest failure message kept as one group's name.
const MAX_MESSAGE_CHARS: usize = 200;
/// Height of the tallest histogram bar.
const BAR_HEIGHT: u32 = 160;
/// Width of one histogram bar and its gap.
const BAR_WIDTH: u32 = 48;

/// Sorts the table by a column when its heading is clicked: numbers as
/// numbers, text as text, each click reversing the order. Program bytes
/// never reach it; it reads only `data-sort` attributes.
const SORT_SCRIPT: &str = "document.querySelectorAll('table.sortable th button').forEach(function(b){b.addEventListener('click',function(){var body=b.closest('table').tBodies[0],col=b.parentNode.cellIndex,num=b.dataset.type==='number',dir=b.dataset.dir==='asc'?-1:1;b.dataset.dir=dir===1?'asc':'desc';Array.prototype.slice.call(body.rows).sort(function(x,y){var p=x.cells[col].dataset.sort,q=y.cells[col].dataset.sort;return dir*(num?parseFloat(p)-parseFloat(q):p.localeCompare(q));}).forEach(function(r){body.appendChild(r);});});});";

/// Renders the class page of `summary`, computed from `reports`.
/// `folder_of` names the folder, next to the page, that holds a
/// submission's own page (`None`: it has none, and is not linked).
pub fn render_class(
    summary: &Summary,
    reports: &[SubmissionReport],
    folder_of: &dyn Fn(&str) -> Option<String>,
) -> String {
    let reports = summary::sorted(reports);
    let link = |name: &str, anchor: Option<usize>| -> String {
        match folder_of(name) {
            Some(folder) => {
                let anchor = anchor.map_or(String::new(), |i| format!("#exercise-{i}"));
                format!(
                    "<a href=\"./{}/{FILE_NAME}{anchor}\">{}</a>",
                    escape(&percent_encoded(&folder)),
                    text(name)
                )
            }
            None => text(name),
        }
    };
    let mut body = String::new();
    let noun = if summary.submissions == 1 {
        "submission"
    } else {
        "submissions"
    };
    let average = |value: Option<f64>| value.map_or_else(|| "-".to_string(), points);
    let _ = writeln!(
        body,
        "<header><h1>Class report</h1><p class=\"score\" data-submissions=\"{n}\">{n} {noun} · \
         mean {mean} · median {median} · out of {max}</p>\
         <p class=\"meta\">graded by {tool} {version}{when}</p></header>",
        n = summary.submissions,
        mean = average(summary.mean_score),
        median = average(summary.median_score),
        max = points(summary.max_score),
        tool = text(&summary.tool.name),
        version = text(&summary.tool.version),
        when = summary
            .generated_at
            .as_deref()
            .map_or(String::new(), |at| format!(" · {}", text(at))),
    );
    body.push_str(&histogram(summary));
    body.push_str(&pass_rates(summary));
    body.push_str(&common_failures(&reports, &link));
    body.push_str(&attention(summary, &link));
    if !summary.skipped.is_empty() {
        body.push_str("<h2>Not graded</h2><ul class=\"skipped\">");
        for skipped in &summary.skipped {
            let _ = write!(
                body,
                "<li><code>{}</code>: {}</li>",
                text(&skipped.path),
                text(&skipped.reason)
            );
        }
        body.push_str("</ul>\n");
    }
    body.push_str(&submissions_table(&reports, &link));
    page("Class report · sockgrade", &body, Some(SORT_SCRIPT))
}

/// The most bins of a histogram with one bin per whole score.
const MOST_WHOLE_BINS: f64 = 20.0;

/// The histogram's bins: every whole score from 0 to the maximum, empty
/// ones too, so the shape reads as a distribution (gaps are scores no one
/// got); just the scores that occur when points are fractional or many.
fn bins(summary: &Summary) -> Vec<ScoreCount> {
    let scores = &summary.score_distribution;
    let whole = |score: f64| score.fract() == 0.0 && score >= 0.0;
    let max = summary.max_score;
    if !whole(max)
        || max > MOST_WHOLE_BINS
        || !scores.iter().all(|s| whole(s.score) && s.score <= max)
    {
        return scores.clone();
    }
    (0..=max as u32)
        .map(|score| ScoreCount {
            score: f64::from(score),
            count: scores
                .iter()
                .find(|s| s.score == f64::from(score))
                .map_or(0, |s| s.count),
        })
        .collect()
}

/// The score distribution as SVG bars, one per bin of [`bins`].
fn histogram(summary: &Summary) -> String {
    if summary.score_distribution.is_empty() {
        return String::new();
    }
    let scores = &bins(summary);
    let most = scores.iter().map(|s| s.count).max().unwrap_or(0).max(1) as u32;
    let width = BAR_WIDTH * scores.len() as u32 + 20;
    let height = BAR_HEIGHT + 50;
    let mut out = format!(
        "<h2>Scores</h2><figure class=\"histogram\"><svg class=\"bars\" \
         viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"how many submissions got each score\">"
    );
    for (index, score) in scores.iter().enumerate() {
        let x = 10 + BAR_WIDTH * index as u32;
        let mid = x + (BAR_WIDTH - 8) / 2;
        let (s, c) = (points(score.score), score.count);
        // An empty bin is its score alone: a gap in the bars.
        let (class, title, drawn) = if c == 0 {
            ("bar empty", format!("none with {s} points"), String::new())
        } else {
            let bar = (BAR_HEIGHT * c as u32 / most).max(2);
            let top = 20 + BAR_HEIGHT - bar;
            (
                "bar",
                format!("{c} with {s} points"),
                format!(
                    "<rect x=\"{x}\" y=\"{top}\" width=\"{w}\" height=\"{bar}\"/>\
                     <text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{c}</text>",
                    top - 4,
                    w = BAR_WIDTH - 8,
                ),
            )
        };
        let _ = write!(
            out,
            "<g class=\"{class}\" data-score=\"{s}\" data-count=\"{c}\"><title>{title}</title>{drawn}\
             <text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{s}</text></g>",
            20 + BAR_HEIGHT + 18,
        );
    }
    out.push_str("</svg><figcaption>submissions per score</figcaption></figure>\n");
    out
}

/// One row per exercise: its pass rate, as a number and a bar.
fn pass_rates(summary: &Summary) -> String {
    if summary.exercises.is_empty() {
        return String::new();
    }
    // The robustness tier's column, when it was played.
    let robust = summary.exercises.iter().any(|e| e.robustness.is_some());
    let mut out = format!(
        "<h2>Pass rate per exercise</h2><table class=\"pass-rates\"><thead><tr><th>exercise</th>\
         <th>passed</th><th>rate</th><th>others</th>{}</tr></thead><tbody>\n",
        if robust {
            "<th>robust (of those replayed)</th>"
        } else {
            ""
        }
    );
    for exercise in &summary.exercises {
        let total = exercise.total();
        let percent = exercise.pass_percent();
        let others: Vec<String> = exercise
            .others()
            .into_iter()
            .map(|(status, count)| format!("{count} {}", status.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "<tr class=\"pass-rate\" data-exercise=\"{id}\" data-passed=\"{passed}\" data-total=\"{total}\">\
             <td>{id}</td><td>{passed} / {total}</td><td>{percent}% \
             <span class=\"rate\" style=\"width:{percent}px\"></span></td><td>{}</td>{robust_cell}</tr>",
            others.join(", "),
            id = text(&exercise.id),
            passed = exercise.passed,
            robust_cell = match (robust, exercise.robustness) {
                (false, _) => String::new(),
                (true, None) => "<td class=\"robust\"></td>".to_string(),
                (true, Some(count)) => format!(
                    "<td class=\"robust\" data-robust-passed=\"{passed}\" data-robust-replayed=\"{replayed}\">{passed} / {replayed}</td>",
                    passed = count.passed,
                    replayed = count.replayed,
                ),
            },
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

/// One failure message or hint, and who got it.
struct Group<'a> {
    exercise: &'a str,
    text: String,
    who: Vec<(&'a str, usize)>,
}

/// The most common failure messages and hints, each with its count and a
/// link to every submission that got it.
fn common_failures(
    reports: &[&SubmissionReport],
    link: &dyn Fn(&str, Option<usize>) -> String,
) -> String {
    let mut messages: Vec<Group> = Vec::new();
    let mut hints: Vec<Group> = Vec::new();
    for report in reports {
        for (index, exercise) in report.exercises.iter().enumerate() {
            if !exercise.has_evidence() {
                continue;
            }
            let first_line = exercise.message.lines().next().unwrap_or("").trim();
            let said = truncate_chars(first_line, MAX_MESSAGE_CHARS);
            let who = (report.submission.as_str(), index);
            add(&mut messages, &exercise.id, said, who);
            if let Some(hint) = &exercise.hint {
                add(
                    &mut hints,
                    &exercise.id,
                    truncate_chars(hint, MAX_MESSAGE_CHARS),
                    who,
                );
            }
        }
    }
    let mut out = String::new();
    for (title, class, mut groups) in [
        ("Most common failures", "failures", messages),
        ("Most common hints", "hints", hints),
    ] {
        if groups.is_empty() {
            continue;
        }
        // Stable: equal counts stay in first-seen order.
        groups.sort_by_key(|group| std::cmp::Reverse(group.who.len()));
        let _ = write!(out, "<h2>{title}</h2><ol class=\"common {class}\">");
        for group in groups.iter().take(MAX_COMMON) {
            let links: Vec<String> = group
                .who
                .iter()
                .map(|&(name, index)| link(name, Some(index)))
                .collect();
            let _ = write!(
                out,
                "<li class=\"common-item\" data-count=\"{count}\"><strong>{count}×</strong> \
                 <code>{id}</code> {said}<br><span class=\"who\">{}</span></li>",
                links.join(", "),
                count = group.who.len(),
                id = text(group.exercise),
                said = text(&group.text),
            );
        }
        out.push_str("</ol>\n");
    }
    out
}

fn add<'a>(groups: &mut Vec<Group<'a>>, exercise: &'a str, said: String, who: (&'a str, usize)) {
    match groups
        .iter_mut()
        .find(|g| g.exercise == exercise && g.text == said)
    {
        Some(group) => group.who.push(who),
        None => groups.push(Group {
            exercise,
            text: said,
            who: vec![who],
        }),
    }
}

/// The submissions a person should look at, and why.
fn attention(summary: &Summary, link: &dyn Fn(&str, Option<usize>) -> String) -> String {
    if summary.needs_attention.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h2>Needs a human look</h2><ul class=\"attention\">");
    for attention in &summary.needs_attention {
        let _ = write!(
            out,
            "<li class=\"needs-review\">{}: {}</li>",
            link(&attention.submission, None),
            text(&attention.reason)
        );
    }
    out.push_str("</ul>\n");
    out
}

/// Every submission: its name (a link to its page), its score and each
/// exercise's verdict; sortable by any column.
fn submissions_table(
    reports: &[&SubmissionReport],
    link: &dyn Fn(&str, Option<usize>) -> String,
) -> String {
    let ids = summary::exercise_ids(reports);
    let mut out = String::from(
        "<h2>Submissions</h2><div class=\"wide\"><table class=\"sortable submissions\"><thead><tr>\
         <th><button type=\"button\" data-type=\"text\">submission</button></th>\
         <th><button type=\"button\" data-type=\"number\">score</button></th>",
    );
    for id in &ids {
        let _ = write!(
            out,
            "<th><button type=\"button\" data-type=\"text\">{}</button></th>",
            text(id)
        );
    }
    out.push_str("</tr></thead><tbody>\n");
    for report in reports {
        let _ = write!(
            out,
            "<tr class=\"submission\" data-submission=\"{name}\"><td data-sort=\"{name}\">{}</td>\
             <td data-sort=\"{score}\">{score} / {max}</td>",
            link(&report.submission, None),
            name = text(&report.submission),
            score = points(report.score),
            max = points(report.max_score),
        );
        for id in &ids {
            let status = report
                .exercises
                .iter()
                .find(|e| e.id == *id)
                .map_or("", |e| e.status.as_str());
            let _ = write!(
                out,
                "<td data-sort=\"{status}\"><span class=\"verdict {status}\">{status}</span></td>"
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// A folder name as one path segment of a relative URL: everything but
/// unreserved characters percent-encoded, so no name can be a scheme, a
/// query, a fragment or another folder.
fn percent_encoded(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::csp;
    use super::*;
    use crate::summary::summarize;
    use crate::summary::tests::batch;

    fn folder(name: &str) -> Option<String> {
        Some(name.to_string())
    }

    #[test]
    fn shows_the_scores_rates_failures_and_every_submission() {
        let reports = batch();
        let page = render_class(&summarize(&reports, &[]), &reports, &folder);
        assert_eq!(page.matches("<g class=\"bar\"").count(), 2);
        assert!(page.contains("data-score=\"1\" data-count=\"2\""));
        // Every whole score has its bin, the ones no one got too.
        let max = summarize(&reports, &[]).max_score as usize;
        assert_eq!(page.matches("<g class=\"bar").count(), max + 1);
        assert_eq!(page.matches("<tr class=\"pass-rate\"").count(), 4);
        assert_eq!(page.matches("<tr class=\"submission\"").count(), 3);
        assert!(page.contains("<a href=\"./alice/report.html\">alice</a>"));
        assert!(page.contains("<li class=\"needs-review\"><a href=\"./bob/report.html\">bob</a>"));
        // carol's and bob's crash of client-2 share one message.
        assert!(page.contains(
            "<strong>1×</strong> <code>client-2</code> the program exited with exit status 1"
        ));
        assert!(page.contains("./carol/report.html#exercise-2"));
    }

    #[test]
    fn allows_only_its_own_script() {
        let reports = batch();
        let page = render_class(&summarize(&reports, &[]), &reports, &folder);
        assert_eq!(page.matches("<script>").count(), 1);
        assert!(page.contains(&csp::policy(Some(SORT_SCRIPT)).replace('\'', "&#39;")));
    }

    #[test]
    fn hostile_names_and_messages_come_out_escaped() {
        let mut reports = batch();
        let hostile = "<script>alert(1)</script><img src=x onerror=alert(1)>]]>\"'&\u{0}\u{1b}[2J";
        reports[0].submission = format!("name{hostile}");
        reports[0].exercises[1].message = format!("message{hostile}");
        reports[0].exercises[1].hint = Some(format!("hint{hostile}"));
        let mut summary = summarize(&reports, &[]);
        summary.needs_attention[0].submission = reports[0].submission.clone();
        let page = render_class(&summary, &reports, &folder);
        super::super::tests::assert_inert(
            &page.replace(&format!("<script>{SORT_SCRIPT}</script>"), ""),
        );
        assert!(page.contains("href=\"./name%3Cscript%3Ealert%281%29%3C%2Fscript%3E"));
        // Each hostile field is on the page, escaped.
        for tag in ["name", "message", "hint"] {
            assert!(
                page.contains(&format!("{tag}&lt;script&gt;")),
                "{tag}: {page}"
            );
        }
    }

    #[test]
    fn links_only_names_with_a_folder() {
        let reports = batch();
        let page = render_class(&summarize(&reports, &[]), &reports, &|_| None);
        assert!(!page.contains("<a href"));
    }

    #[test]
    fn encodes_a_folder_as_one_path_segment() {
        assert_eq!(percent_encoded("a b/c?d#e:%"), "a%20b%2Fc%3Fd%23e%3A%25");
        assert_eq!(percent_encoded("Émile_1.x"), "%C3%89mile_1.x");
    }
}
