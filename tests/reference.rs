//! docs/REFERENCE.md stays true: every `payline` command in its `sh` blocks runs successfully from the
//! repository's root (with `--out` redirected to a temporary directory), and every program in its
//! `toml` blocks passes `payline check` with no error.

use assert_cmd::Command;
use std::path::Path;

fn reference() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/REFERENCE.md");
    std::fs::read_to_string(path).expect("docs/REFERENCE.md")
}

/// The fenced blocks of one language, in order.
fn blocks(text: &str, language: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_end() == format!("```{language}") => current = Some(String::new()),
            Some(block) if line.trim_end() == "```" => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_command_of_the_reference_runs() {
    let text = reference();
    let commands: Vec<String> = blocks(&text, "sh")
        .iter()
        .flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.starts_with("payline "))
        .collect();
    assert!(commands.len() >= 4, "{commands:?}");
    let scratch = tempfile::tempdir().unwrap();
    for command in commands {
        let mut words: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .map(String::from)
            .collect();
        if let Some(i) = words.iter().position(|w| w == "--out") {
            words[i + 1] = scratch.path().join(&words[i + 1]).display().to_string();
        }
        // `payline statements BATCH_DIR` reads a batch an earlier command wrote there.
        if words[0] == "statements" {
            words[1] = scratch.path().join(&words[1]).display().to_string();
        }
        let output = Command::cargo_bin("payline")
            .unwrap()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&words)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`{command}` failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn every_program_of_the_reference_checks_clean() {
    let text = reference();
    let programs: Vec<String> = blocks(&text, "toml")
        .into_iter()
        .filter(|b| b.starts_with("[program]"))
        .collect();
    assert!(!programs.is_empty());
    let scratch = tempfile::tempdir().unwrap();
    for (i, program) in programs.iter().enumerate() {
        let path = scratch.path().join(format!("program-{i}.toml"));
        std::fs::write(&path, program).unwrap();
        let output = Command::cargo_bin("payline")
            .unwrap()
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "program block {i} does not check:\n{program}\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
