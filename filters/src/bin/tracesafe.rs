//! `tracesafe`: the administrators' command line, built from the same
//! `tracesafe-filters` code as the plugin (native only; the wasm build never
//! includes it).
//!
//!   tracesafe check CONFIG.json...          validate; every error with its path and a hint
//!   tracesafe explain CONFIG.json --request REQUEST.json [--json]
//!   tracesafe token --config CONFIG.json --namespace NS [--tenant T] [--key ID] VALUE
//!   tracesafe test TESTS.json...            policy tests (docs/policy-tests-catalog-audit.md)
//!   tracesafe catalog CONFIG.json [--format markdown|json]
//!   tracesafe schema [--tests]              JSON Schema of the configuration (or test files)
//!
//! Exit status: 0 ok, 1 invalid configuration (or missing keys), 2 usage or
//! I/O error.

use std::io::Read;
use std::process::ExitCode;
use tracesafe_filters::cli::{catalog, check, explain, mint, testing, warnings};
use tracesafe_filters::config::{self, schema};

const USAGE: &str = "usage:
  tracesafe check CONFIG.json...
      Validate plugin configurations (`-` reads stdin). Prints every error
      with its JSON path and a hint; exits 1 if any configuration is invalid.
  tracesafe explain CONFIG.json --request REQUEST.json [--json]
      Show which rule and policy a request gets, what is removed, replaced
      (never the old values: `[TOKEN:user]`, `[REDACTED:email]`) or added,
      the headers the upstream receives and the span record.
      REQUEST.json: {\"method\", \"path\", \"authority\", \"headers\": {name: value|[values]},
      \"direction\": \"inbound\"|\"outbound\", \"route\": ROUTE_NAME, \"properties\": {\"xds\": {...}}}
  tracesafe token --config CONFIG.json --namespace NS [--tenant T] [--key ID] VALUE
      Print the token the plugin mints for VALUE (`-` reads it from stdin) in
      namespace NS: the keys come from the environment variables that
      CONFIG.json's `keys.env` names, as in the plugin. --tenant: the tenant's
      key (needs a `tenant` source in CONFIG.json); --key: a key id other
      than `keys.active`, for tokens minted before a rotation.
  tracesafe test TESTS.json...
      Run policy tests: each case sends a request (and a response) through
      the engine and checks what was removed, kept, masked or tokenized, the
      forwarded values, the span, and `never` strings that must appear
      nowhere. Prints `FAIL <file>: <case>: <difference>` per failed case,
      then `N passed, M failed`; exits 1 if a case failed, 2 if a file or
      its configuration is invalid.
  tracesafe catalog CONFIG.json [--format markdown|json]
      Print the data catalog: per policy and the rules selecting it, what
      happens to each header, baggage key, URL part and detector finding,
      the span record, and the token namespaces shared across carriers.
  tracesafe schema [--tests]
      Print the JSON Schema of the plugin configuration (--tests: of the
      test files `tracesafe test` reads).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => cmd_check(args.get(1..).unwrap_or_default()),
        Some("explain") => cmd_explain(args.get(1..).unwrap_or_default()),
        Some("token") => cmd_token(args.get(1..).unwrap_or_default()),
        Some("catalog") => cmd_catalog(args.get(1..).unwrap_or_default()),
        Some("test") => cmd_test(args.get(1..).unwrap_or_default()),
        Some("schema") if args.len() == 1 => cmd_schema(schema::schema()),
        Some("schema") if args.get(1..) == Some(&["--tests".to_string()][..]) => {
            cmd_schema(testing::schema())
        }
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
        let bytes = read(file)?;
        match check::check(&bytes, &check::env_or_placeholder) {
            Ok(engine) => {
                note_placeholders(file, &bytes, "checked with a placeholder key");
                let names: Vec<&str> = engine.policy_names().collect();
                println!(
                    "{file}: ok ({} {}: {}; {} {})",
                    names.len(),
                    plural(names.len(), "policy", "policies"),
                    names.join(", "),
                    engine.policies().rule_count(),
                    plural(engine.policies().rule_count(), "rule", "rules"),
                );
                for w in warnings::warnings(&bytes) {
                    println!("{file}: {w}");
                }
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

/// Says on stderr which key variables are missing here and were replaced
/// by a placeholder key.
fn note_placeholders(file: &str, bytes: &[u8], what: &str) {
    for var in check::placeholder_vars(bytes) {
        eprintln!("{file}: note: environment variable {var} is not set: {what}");
    }
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
    let bytes = read(config)?;
    let engine = match check::check(&bytes, &check::env_or_placeholder) {
        Ok(engine) => {
            note_placeholders(
                config,
                &bytes,
                "tokens below use a placeholder key, not the plugin's",
            );
            engine
        }
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

fn cmd_token(args: &[String]) -> Result<ExitCode, String> {
    let (mut config, mut namespace, mut tenant, mut key, mut value) =
        (None, None, None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut operand = |what: &str| {
            it.next()
                .ok_or_else(|| format!("{what} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--config" => config = Some(operand("--config")?),
            "--namespace" => namespace = Some(operand("--namespace")?),
            "--tenant" => tenant = Some(operand("--tenant")?),
            "--key" => key = Some(operand("--key")?),
            "--" => value = it.next(),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg:?}\n{USAGE}")),
            _ if value.is_none() => value = Some(arg),
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let (Some(config), Some(namespace), Some(value)) = (config, namespace, value) else {
        return Err(format!(
            "token needs --config CONFIG.json, --namespace NS and a VALUE\n{USAGE}"
        ));
    };
    // Values on the command line end up in shell history; `-` avoids that.
    let value = if value == "-" {
        let mut raw = read("-")?;
        for end in [b'\n', b'\r'] {
            if raw.last() == Some(&end) {
                raw.pop();
            }
        }
        raw
    } else {
        value.as_bytes().to_vec()
    };
    let cfg = match config::parse(&read(config)?) {
        Ok(cfg) => cfg,
        Err(err) => {
            eprintln!("{config}: {err}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    match mint::mint_as_configured(
        &cfg,
        &env,
        key.map(String::as_str),
        tenant.map(|t| t.as_bytes()),
        namespace,
        &value,
    ) {
        Ok(token) => {
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("{config}: {err}");
            if err.path.starts_with("keys.env") {
                eprintln!(
                    "  hint: tracesafe token reads the key variables from its own environment"
                );
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn cmd_schema(schema: serde_json::Value) -> Result<ExitCode, String> {
    let text = serde_json::to_string_pretty(&schema).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn cmd_test(files: &[String]) -> Result<ExitCode, String> {
    if files.is_empty() {
        return Err(format!("test needs a test file\n{USAGE}"));
    }
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        // Configuration paths are relative to the test file.
        let dir = std::path::Path::new(file)
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf();
        let load = |path: &str| read(&dir.join(path).to_string_lossy());
        let report = testing::run(file, &read(file)?, &load)?;
        for line in &report.failures {
            println!("{line}");
        }
        passed += report.passed;
        failed += report.failures.len();
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn cmd_catalog(args: &[String]) -> Result<ExitCode, String> {
    let (config, json) = match args {
        [config] => (config, false),
        [config, flag, format] | [flag, format, config] if flag == "--format" => {
            match format.as_str() {
                "markdown" => (config, false),
                "json" => (config, true),
                other => return Err(format!("unknown format {other:?}\n{USAGE}")),
            }
        }
        _ => return Err(format!("catalog needs CONFIG.json\n{USAGE}")),
    };
    let bytes = read(config)?;
    // Only a configuration the plugin would load gets a catalog.
    if let Err(diagnostics) = check::check(&bytes, &check::env_or_placeholder) {
        for d in &diagnostics {
            println!("{config}: {d}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let cfg = tracesafe_filters::config::parse(&bytes).map_err(|e| format!("{config}: {e}"))?;
    let catalog = catalog::catalog(&cfg);
    if json {
        let text = serde_json::to_string_pretty(&catalog.json()).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", catalog.markdown(config));
    }
    Ok(ExitCode::SUCCESS)
}
