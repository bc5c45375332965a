//! Starts Envoy 1.40 from a template in `envoy/`, waits for `/ready`, and
//! kills it on drop (also when the test panics).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::http::{self, Request};
use serde_json::{json, Value};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Envoy binary: `$ENVOY_BIN`, or the one `./build.sh` put in `.venv`.
pub fn envoy_bin() -> PathBuf {
    if let Ok(p) = std::env::var("ENVOY_BIN") {
        return PathBuf::from(p);
    }
    let p = repo_root().join(".venv/bin/envoy");
    assert!(
        p.exists(),
        "no Envoy at {}: run ./build.sh build first",
        p.display()
    );
    p
}

/// The Envoy executable itself: `$ENVOY_BIN`, or the binary inside the
/// `.venv` package. `.venv/bin/envoy` is a Python script that execs it,
/// which a wrapper such as valgrind cannot follow.
pub fn envoy_native_bin() -> PathBuf {
    if let Ok(p) = std::env::var("ENVOY_BIN") {
        return PathBuf::from(p);
    }
    let lib = repo_root().join(".venv/lib");
    fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| python.path().join("site-packages/envoy/_bin/envoy"))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "no Envoy binary under {}: run ./build.sh build first",
                lib.display()
            )
        })
}

/// The plugin under test: `$TRACESAFE_WASM` or `dist/tracesafe.wasm`.
pub fn wasm_path() -> PathBuf {
    if let Ok(p) = std::env::var("TRACESAFE_WASM") {
        return PathBuf::from(p);
    }
    let p = repo_root().join("dist/tracesafe.wasm");
    assert!(
        p.exists(),
        "no plugin at {}: run ./build.sh build first",
        p.display()
    );
    p
}

/// The failure tests' plugin with a deliberate trap behind a test-only
/// flag: `$TRACESAFE_TEST_TRAP_WASM` or `dist/tracesafe-test-trap.wasm`.
pub fn test_trap_wasm_path() -> PathBuf {
    if let Ok(p) = std::env::var("TRACESAFE_TEST_TRAP_WASM") {
        return PathBuf::from(p);
    }
    let p = repo_root().join("dist/tracesafe-test-trap.wasm");
    assert!(
        p.exists(),
        "no plugin at {}: run ./build.sh test (it builds the test-trap variant)",
        p.display()
    );
    p
}

/// The plugin that counts its host calls per request (feature
/// `host-call-count`): `$TRACESAFE_HOST_CALLS_WASM` or
/// `dist/tracesafe-host-calls.wasm`.
pub fn host_calls_wasm_path() -> PathBuf {
    if let Ok(p) = std::env::var("TRACESAFE_HOST_CALLS_WASM") {
        return PathBuf::from(p);
    }
    let p = repo_root().join("dist/tracesafe-host-calls.wasm");
    assert!(
        p.exists(),
        "no plugin at {}: run ./build.sh test (it builds the host-call-count variant)",
        p.display()
    );
    p
}

/// A fresh directory per Envoy, removed on drop.
pub fn scratch_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tracesafe-it-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Renders `{{NAME}}` placeholders; an unfilled placeholder is a test bug.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    assert!(
        !out.contains("{{"),
        "unfilled placeholder in template:\n{out}"
    );
    out
}

/// A JSON value as a YAML scalar: JSON strings are valid YAML double-quoted
/// strings, so the plugin config survives byte for byte.
pub fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Two and a half of the plugin's stats flush periods (100 ms): a tick
/// runs within one period after a request, the rest is slack for a loaded
/// machine.
const PLUGIN_STATS_FLUSH_WAIT: Duration = Duration::from_millis(250);

pub struct Envoy {
    child: Child,
    dir: PathBuf,
    pub admin: u16,
    listeners: HashMap<String, u16>,
}

/// The result of starting Envoy: it serves, or it exited (bad config).
pub enum Started {
    Ready(Envoy),
    Exited { code: Option<i32>, log: String },
}

impl Envoy {
    /// A builder for Envoy from `envoy/<template>`.
    pub fn builder(template: &str) -> Builder {
        Builder {
            template: template.to_string(),
            vars: Vec::new(),
            plugins: Vec::new(),
            env: Vec::new(),
            cpus: None,
            workers: 1,
            wrapper: Vec::new(),
            only_listener: None,
        }
    }

    fn launch(config: &str, b: &Builder) -> Started {
        let dir = scratch_dir();
        let cfg = dir.join("envoy.yaml");
        fs::write(&cfg, config).unwrap();
        let admin_file = dir.join("admin.txt");
        let log = fs::File::create(dir.join("envoy.log")).unwrap();
        // taskset and valgrind exec (or become) Envoy, so the child's pid
        // is Envoy's.
        let mut argv: Vec<PathBuf> = Vec::new();
        if let Some(cpus) = &b.cpus {
            argv.extend(["taskset".into(), "-c".into(), cpus.into()]);
        }
        argv.extend(b.wrapper.iter().map(PathBuf::from));
        argv.push(if b.wrapper.is_empty() {
            envoy_bin()
        } else {
            envoy_native_bin()
        });
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .arg("-c")
            .arg(&cfg)
            .arg("--concurrency")
            .arg(b.workers.to_string())
            .args(["--disable-hot-restart", "-l", "info"])
            .arg("--admin-address-path")
            .arg(&admin_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        cmd.envs(b.env.iter().map(|(k, v)| (k, v)));
        let child = cmd.spawn().expect("spawn envoy");
        let mut envoy = Envoy {
            child,
            dir,
            admin: 0,
            listeners: HashMap::new(),
        };
        // Under valgrind V8 alone takes minutes to start.
        let wait = Duration::from_secs(if b.wrapper.is_empty() { 60 } else { 600 });
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = envoy.child.try_wait().unwrap() {
                return Started::Exited {
                    code: status.code(),
                    log: envoy.log(),
                };
            }
            if envoy.admin == 0 {
                envoy.admin = read_admin_port(&admin_file).unwrap_or(0);
            }
            if envoy.admin != 0 {
                if let Ok(r) = Request::get("/ready").send(envoy.admin) {
                    if r.status == 200 {
                        envoy.listeners = envoy.read_listeners();
                        return Started::Ready(envoy);
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "envoy not ready after {wait:?}:\n{}",
                envoy.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The Envoy process id, for `/proc/<pid>/...`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port a named listener is bound to.
    pub fn port(&self, listener: &str) -> u16 {
        *self
            .listeners
            .get(listener)
            .unwrap_or_else(|| panic!("no listener {listener}: {:?}", self.listeners))
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("envoy.log")).unwrap_or_default()
    }

    /// Envoy's admin `/stats` as text, once the plugin's counters are in.
    /// The plugin sums its increments in the VM and hands them to Envoy on
    /// its root tick (`stats::FLUSH_PERIOD` in src/stats.rs, 100 ms), not
    /// per request, so every read first waits long enough for a tick to
    /// have run since the requests the caller has seen answered.
    pub fn stats(&self) -> String {
        self.wait_plugin_stats_flush();
        http::get(self.admin, "/stats").body_text()
    }

    /// Waits until the plugin's root tick has flushed the counts of the
    /// requests answered so far (see `stats`).
    pub fn wait_plugin_stats_flush(&self) {
        std::thread::sleep(PLUGIN_STATS_FLUSH_WAIT);
    }

    /// One counter or gauge from `/stats`, 0 when absent.
    pub fn stat(&self, name: &str) -> u64 {
        let stats = self.stats();
        stats
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .strip_prefix(": ")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }

    /// A trap in the VM is logged by Envoy ("Function: ... failed") and makes
    /// the VM fail; neither may ever happen.
    pub fn assert_no_trap(&self) {
        let log = self.log();
        for bad in [
            "RuntimeError",
            "panicked",
            "Function: proxy_on",
            "VM failed",
            "Plugin configured to fail",
        ] {
            assert!(
                !log.contains(bad),
                "VM trouble ({bad}) in envoy log:\n{log}"
            );
        }
    }

    /// A tracesafe counter; Envoy exposes plugin metrics as
    /// `wasmcustom.tracesafe.<name>`.
    pub fn counter(&self, name: &str) -> u64 {
        self.stat(&format!("wasmcustom.tracesafe.{name}"))
    }

    fn read_listeners(&self) -> HashMap<String, u16> {
        let body = http::get(self.admin, "/listeners?format=json").body_text();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut out = HashMap::new();
        for l in v["listener_statuses"].as_array().into_iter().flatten() {
            let name = l["name"].as_str().unwrap_or_default().to_string();
            if let Some(port) = l["local_address"]["socket_address"]["port_value"].as_u64() {
                out.insert(name, port as u16);
            }
        }
        out
    }
}

/// `config` with `static_resources.listeners` cut down to the one named
/// `name` (YAML anchors resolved, as Envoy would).
fn keep_listener(config: &str, name: &str) -> String {
    let mut v: serde_norway::Value = serde_norway::from_str(config).unwrap();
    let listeners = v["static_resources"]["listeners"]
        .as_sequence_mut()
        .expect("template without static_resources.listeners");
    listeners.retain(|l| l["name"].as_str() == Some(name));
    assert_eq!(listeners.len(), 1, "no listener {name} in the template");
    serde_norway::to_string(&v).unwrap()
}

fn read_admin_port(path: &Path) -> Option<u16> {
    let text = fs::read_to_string(path).ok()?;
    text.trim().rsplit(':').next()?.parse().ok()
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- envoy log ({}) ---\n{}", self.dir.display(), self.log());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// One tracesafe HTTP filter in a template: the line `- {{TRACESAFE}}` (or
/// another placeholder) becomes the whole wasm filter entry as one-line
/// JSON (valid YAML flow), so no template spells the entry out.
pub struct Plugin {
    placeholder: String,
    name: String,
    config: Value,
    wasm: Option<PathBuf>,
    failure_policy: Option<String>,
    vm_id: Option<String>,
}

impl Plugin {
    /// Plugin `tracesafe` with `config` at `{{TRACESAFE}}`, running
    /// [`wasm_path`] with Envoy's default failure policy.
    pub fn new(config: &Value) -> Plugin {
        Plugin {
            placeholder: "TRACESAFE".into(),
            name: "tracesafe".into(),
            config: config.clone(),
            wasm: None,
            failure_policy: None,
            vm_id: None,
        }
    }

    /// For templates with several plugins: fills `{{placeholder}}`.
    pub fn at(mut self, placeholder: &str) -> Plugin {
        self.placeholder = placeholder.into();
        self
    }

    /// The plugin name (Envoy's log lines carry it).
    pub fn named(mut self, name: &str) -> Plugin {
        self.name = name.into();
        self
    }

    /// Another plugin binary (the failure tests' trap build).
    pub fn wasm(mut self, path: &Path) -> Plugin {
        self.wasm = Some(path.to_path_buf());
        self
    }

    /// `FAIL_CLOSED`, `FAIL_OPEN` or `FAIL_RELOAD`.
    pub fn failure_policy(mut self, policy: &str) -> Plugin {
        self.failure_policy = Some(policy.into());
        self
    }

    /// Plugins with one `vm_id` (and otherwise equal VM settings) share a VM.
    pub fn vm_id(mut self, id: &str) -> Plugin {
        self.vm_id = Some(id.into());
        self
    }

    /// The filter entry; `env_keys` are the host environment variables
    /// passed into the VM.
    fn entry(&self, env_keys: &[&str]) -> String {
        let wasm = self.wasm.clone().unwrap_or_else(wasm_path);
        let mut vm = json!({
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": wasm.display().to_string()}},
            "environment_variables": {"host_env_keys": env_keys},
        });
        if let Some(id) = &self.vm_id {
            vm["vm_id"] = json!(id);
        }
        let mut config = json!({
            "name": self.name,
            "root_id": "tracesafe",
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": self.config.to_string(),
            },
            "vm_config": vm,
        });
        if let Some(policy) = &self.failure_policy {
            config["failure_policy"] = json!(policy);
        }
        json!({
            "name": "envoy.filters.http.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": config,
            },
        })
        .to_string()
    }
}

/// Starts Envoy from `envoy/<template>`: fills each plugin's placeholder
/// with its filter entry, every plugin getting the names of `env` as
/// `host_env_keys`, and the other `{{NAME}}`s from [`Builder::var`].
pub struct Builder {
    template: String,
    vars: Vec<(String, String)>,
    plugins: Vec<Plugin>,
    env: Vec<(String, String)>,
    cpus: Option<String>,
    workers: u32,
    wrapper: Vec<String>,
    only_listener: Option<String>,
}

impl Builder {
    /// Fills `{{name}}` with `value`.
    pub fn var(mut self, name: &str, value: impl ToString) -> Builder {
        self.vars.push((name.into(), value.to_string()));
        self
    }

    /// Fills `{{UPSTREAM_PORT}}`, where the templates proxy to.
    pub fn upstream(self, port: u16) -> Builder {
        self.var("UPSTREAM_PORT", port)
    }

    /// Plugin `tracesafe` with `config` at `{{TRACESAFE}}`.
    pub fn plugin(self, config: &Value) -> Builder {
        self.with(Plugin::new(config))
    }

    pub fn with(mut self, plugin: Plugin) -> Builder {
        self.plugins.push(plugin);
        self
    }

    /// Host environment variables set for Envoy and passed into every VM.
    pub fn env(mut self, env: &[(&str, &str)]) -> Builder {
        self.env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Pins the process to `cpus` (a `taskset -c` list) so a benchmark can
    /// give it a core of its own.
    pub fn pinned(mut self, cpus: &str) -> Builder {
        self.cpus = Some(cpus.into());
        self
    }

    /// Worker threads (`--concurrency`, 1 unless set): the bench's memory
    /// soak uses every core to get its 1M requests through sooner.
    pub fn workers(mut self, n: u32) -> Builder {
        self.workers = n;
        self
    }

    /// Runs Envoy under `command` (e.g. `valgrind --tool=callgrind`): the
    /// binary itself, not the `.venv` script, and up to 10 minutes to start.
    pub fn wrapped(mut self, command: &[&str]) -> Builder {
        self.wrapper = command.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Keeps only the listener `name` of the template: the Envoy profile
    /// runs one variant of `bench/filter.yaml` (under valgrind V8 can create
    /// only two VMs, the main thread's and one worker's).
    pub fn only_listener(mut self, name: &str) -> Builder {
        self.only_listener = Some(name.into());
        self
    }

    /// The rendered configuration.
    pub fn render(&self) -> String {
        let text = fs::read_to_string(repo_root().join("envoy").join(&self.template)).unwrap();
        let keys: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        let mut vars: Vec<(&str, String)> = self
            .plugins
            .iter()
            .map(|p| (p.placeholder.as_str(), p.entry(&keys)))
            .collect();
        vars.extend(self.vars.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let out = render(&text, &vars);
        match &self.only_listener {
            Some(name) => keep_listener(&out, name),
            None => out,
        }
    }

    /// Starts Envoy and waits until it is ready or has exited.
    pub fn try_start(self) -> Started {
        Envoy::launch(&self.render(), &self)
    }

    /// Starts Envoy and panics unless it becomes ready.
    pub fn start(self) -> Envoy {
        match self.try_start() {
            Started::Ready(e) => e,
            Started::Exited { code, log } => panic!("envoy exited ({code:?}):\n{log}"),
        }
    }
}
