//! Running the `tracesafe` binary from the CLI test files.
#![allow(clippy::unwrap_used, dead_code)] // test helpers; each test file uses some

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `tracesafe ARGS` in the repository root without key variables.
pub fn tracesafe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracesafe"))
        .args(args)
        .current_dir(repo())
        .env_remove("TRACESAFE_HMAC_KEY_1")
        .env_remove("TRACESAFE_DEMO_KEY")
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch file that lives as long as the test.
pub struct Temp(PathBuf);

impl Temp {
    pub fn new(name: &str, text: &str) -> Temp {
        let dir = std::env::temp_dir().join(format!("tracesafe-cli2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Temp(path)
    }
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
