//! `tracesafe`: the administrators' command line, built from the same
//! `tracesafe-filters` code as the plugin (native only; the wasm build never
//! includes it).
//!
//!   tracesafe check CONFIG.json...          validate; every error with its path and a hint
//!   tracesafe explain CONFIG.json --request REQUEST.json [--json]
//!   tracesafe schema                        JSON Schema of the configuration
//!
//! Exit status: 0 ok, 1 invalid configuration, 2 usage or I/O error.

use std::io::Read;
use std::process::ExitCode;
use tracesafe_filters::{check, explain, schema};

const USAGE: &str = "usage:
  tracesafe check CONFIG.json...
      Validate plugin configurations (`-` reads stdin). Prints every error
      with its JSON path and a hint; exits 1 if any configuration is invalid.
  tracesafe explain CONFIG.json --request REQUEST.json [--json]
      Show which rule and policy a request gets, what is removed or replaced
      (never the values), and the headers the upstream receives.
      REQUEST.json: {\"method\", \"path\", \"authority\", \"headers\": {name: value|[values]},
      \"direction\": \"inbound\"|\"outbound\", \"properties\": {\"xds\": {\"route_name\": ...}}}
  tracesafe schema
      Print the JSON Schema of the plugin configuration.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => cmd_check(args.get(1..).unwrap_or_default()),
        Some("explain") => cmd_explain(args.get(1..).unwrap_or_default()),
        Some("schema") if args.len() == 1 => cmd_schema(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("unknown command\n{USAGE}")),
    };
    result.unwrap_or_else(|msg| {
        eprintln!("tracesafe: {msg}");
        ExitCode::from(2)
    })
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

fn cmd_check(files: &[String]) -> Result<ExitCode, String> {
    if files.is_empty() {
        return Err(format!("check needs a configuration file\n{USAGE}"));
    }
    let mut failed = false;
    for file in files {
        match check::check(&read(file)?, &check::env_or_placeholder) {
            Ok(engine) => {
                let names: Vec<&str> = engine.policy_names().collect();
                println!(
                    "{file}: ok ({} {}: {}; {} {})",
                    names.len(),
                    plural(names.len(), "policy", "policies"),
                    names.join(", "),
                    engine.policies().rule_count(),
                    plural(engine.policies().rule_count(), "rule", "rules"),
                );
            }
            Err(diagnostics) => {
                failed = true;
                for d in &diagnostics {
                    println!("{file}: {d}");
                }
                println!(
                    "{file}: {} {}",
                    diagnostics.len(),
                    plural(diagnostics.len(), "error", "errors")
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn cmd_explain(args: &[String]) -> Result<ExitCode, String> {
    let mut config = None;
    let mut request = None;
    let mut as_json = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--request" => request = Some(it.next().ok_or("--request needs a file")?),
            "--json" => as_json = true,
            _ if config.is_none() => config = Some(arg),
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let (Some(config), Some(request)) = (config, request) else {
        return Err(format!(
            "explain needs CONFIG.json and --request REQUEST.json\n{USAGE}"
        ));
    };
    let engine = match check::check(&read(config)?, &check::env_or_placeholder) {
        Ok(engine) => engine,
        Err(diagnostics) => {
            for d in &diagnostics {
                println!("{config}: {d}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let explanation =
        explain::explain(&engine, &read(request)?).map_err(|e| format!("{request}: {e}"))?;
    if as_json {
        let text = serde_json::to_string_pretty(&explanation.json()).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", explanation.text());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_schema() -> Result<ExitCode, String> {
    let text = serde_json::to_string_pretty(&schema::schema()).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}
