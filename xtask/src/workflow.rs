//! The hardening rules of the GitHub Actions workflow (`.github/workflows/ci.yml`), checked
//! on its text: `cargo xtask ci matrix --write-workflow` refuses to write a workflow that
//! breaks one, and a host test checks the committed file. zizmor (in `.ci/run`) audits the
//! same file more broadly; these rules are the ones this project promises (README,
//! "Security"), checked without any tool installed.
//!
//! The workflow is read line by line, by indentation, not as YAML: it is our own file, in
//! the block style it is written in, and a YAML parser would be one more dependency of the
//! xtask for four rules.

/// Where upload-artifact may take files from: reports and logs (and the coverage reports,
/// and the inputs fuzzing saved), nothing else of `target/`.
const ARTIFACT_PATHS: [&str; 7] = [
    "target/xtask/junit-",
    "target/xtask/runs/*/*.serial.log",
    "target/xtask/runs/*/*.ktap",
    "target/xtask/coverage/*/lcov.info",
    "target/xtask/coverage/html/",
    "target/xtask/fuzz/*/artifacts/",
    "tests/fixtures/fuzz-regressions/",
];

/// One step that runs an action: its `uses:` value (comment included) and its whole text.
struct ActionStep<'a> {
    line_number: usize,
    uses: &'a str,
    lines: Vec<&'a str>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Every step with a `uses:` key, with the lines of its list item.
fn action_steps(workflow: &str) -> Vec<ActionStep<'_>> {
    let lines: Vec<&str> = workflow.lines().collect();
    let mut steps = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let body = line.trim_start().trim_start_matches("- ");
        let Some(uses) = body.strip_prefix("uses:") else { continue };
        // The step's list item: this line if it starts with `- `, else the nearest one above
        // that is less indented.
        let start = (0..=index)
            .rev()
            .find(|&i| lines[i].trim_start().starts_with("- ") && (i == index || indent(lines[i]) < indent(line)))
            .unwrap_or(index);
        let dash = indent(lines[start]);
        let end = (start + 1..lines.len())
            .find(|&i| !lines[i].trim().is_empty() && indent(lines[i]) <= dash)
            .unwrap_or(lines.len());
        steps.push(ActionStep { line_number: index + 1, uses: uses.trim(), lines: lines[start..end].to_vec() });
    }
    steps
}

/// `owner/repo@<40 hex digits> # vX.Y.Z`: a commit, with the version it is beside it.
fn is_pinned(uses: &str) -> bool {
    if uses.starts_with("./") {
        return true;
    }
    let (reference, comment) = uses.split_once('#').unwrap_or((uses, ""));
    let Some((_, commit)) = reference.trim().trim_matches('"').split_once('@') else { return false };
    let version = comment.trim();
    commit.len() == 40
        && commit.bytes().all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
        && version.starts_with('v')
        && version[1..].starts_with(|c: char| c.is_ascii_digit())
}

/// The values of a step's `path:` key (one line, or a `|` block below it).
fn artifact_paths<'a>(step: &ActionStep<'a>) -> Vec<&'a str> {
    let Some(at) = step.lines.iter().position(|line| line.trim_start().starts_with("path:")) else { return vec![] };
    let value = step.lines[at].trim_start()["path:".len()..].trim();
    if value != "|" {
        return vec![value];
    }
    let key_indent = indent(step.lines[at]);
    step.lines[at + 1..].iter().take_while(|line| indent(line) > key_indent).map(|line| line.trim()).collect()
}

/// Everything in `workflow` that breaks the rules, one sentence each (empty: none).
pub fn audit(workflow: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let top_level: Vec<&str> = workflow.lines().filter(|line| indent(line) == 0 && !line.starts_with('#')).collect();
    let permissions_at = workflow.lines().position(|line| line == "permissions:");
    let contents_read = permissions_at.and_then(|at| workflow.lines().nth(at + 1)).map(str::trim);
    if !top_level.contains(&"permissions:") || contents_read != Some("contents: read") {
        problems.push(
            "no top-level `permissions:` block with `contents: read` first: without one the job token gets the \
             repository's default (often write) permissions"
                .to_string(),
        );
    }
    for (number, line) in workflow.lines().enumerate() {
        let text = line.split('#').next().unwrap_or("");
        if text.contains("write-all") || text.trim_end().ends_with(": write") {
            problems.push(format!(
                "line {}: `{}` grants write access; no job needs it (grant it to that job alone, with a reason)",
                number + 1,
                line.trim()
            ));
        }
    }
    for step in action_steps(workflow) {
        if !is_pinned(step.uses) {
            problems.push(format!(
                "line {}: `uses: {}` is not pinned: use `owner/repo@<full commit hash> # vX.Y.Z`",
                step.line_number, step.uses
            ));
        }
        let action = step.uses.split('@').next().unwrap_or_default().trim_matches('"');
        let has = |wanted: &str| step.lines.iter().any(|line| line.split('#').next().unwrap_or("").trim() == wanted);
        if action == "actions/checkout" && !has("persist-credentials: false") {
            problems.push(format!(
                "line {}: actions/checkout without `persist-credentials: false` leaves the job token in .git/config",
                step.line_number
            ));
        }
        if action == "actions/upload-artifact" {
            for path in artifact_paths(&step) {
                if !ARTIFACT_PATHS.iter().any(|allowed| path.starts_with(allowed)) {
                    problems.push(format!(
                        "line {}: artifact path `{path}` is not a report or a log (allowed: {})",
                        step.line_number,
                        ARTIFACT_PATHS.join(", ")
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const HARDENED: &str = "\
name: CI
permissions:
  contents: read
jobs:
  test:
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - run: cargo test
      - name: Logs
        if: always()
        uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with:
          name: logs
          path: |
            target/xtask/junit-x86_64.xml
            target/xtask/runs/*/*.serial.log
";

    #[test]
    fn the_repository_workflow_is_hardened() {
        let root = crate::workspace::Workspace::locate().root().to_path_buf();
        let workflow = std::fs::read_to_string(root.join(crate::commands::ci::WORKFLOW)).unwrap();
        assert_eq!(audit(&workflow), Vec::<String>::new());
    }

    #[test]
    fn a_hardened_workflow_has_no_problems() {
        assert_eq!(audit(HARDENED), Vec::<String>::new());
    }

    /// Each case breaks one rule of [`HARDENED`]; the problem must name it.
    #[test]
    fn each_broken_rule_is_named() {
        let cases = [
            ("a tag, not a commit", ("@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", "@v7"), "is not pinned"),
            ("a commit without its version", ("ba90b1 # v7.0.1", "ba90b1"), "is not pinned"),
            ("a short commit", ("@3d3c42e5aac5ba805825da76410c181273ba90b1", "@3d3c42e"), "is not pinned"),
            ("credentials kept", ("persist-credentials: false", "persist-credentials: true"), "persist-credentials"),
            ("no permissions block", ("permissions:\n  contents: read\n", ""), "top-level `permissions:`"),
            ("write access", ("contents: read", "contents: write"), "grants write access"),
            ("write-all", ("permissions:\n  contents: read", "permissions: write-all"), "write"),
            ("the whole target directory", ("target/xtask/runs/*/*.serial.log", "target/"), "not a report or a log"),
            ("a single path line", ("path: |\n            target/xtask/junit-x86_64.xml", "path: target"), "`target`"),
        ];
        for (why, (from, to), expected) in cases {
            assert!(HARDENED.contains(from), "{why}: the case does not apply");
            let problems = audit(&HARDENED.replacen(from, to, 1));
            assert!(problems.iter().any(|problem| problem.contains(expected)), "{why}: {problems:?}");
        }
    }

    #[test]
    fn a_step_that_names_itself_first_is_still_one_step() {
        let steps = action_steps(HARDENED);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].lines[0].trim(), "- name: Logs");
        assert_eq!(artifact_paths(&steps[1]), ["target/xtask/junit-x86_64.xml", "target/xtask/runs/*/*.serial.log"]);
    }
}
