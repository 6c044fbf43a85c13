//! A pass-through to the Docker Engine's socket that holds one chosen
//! request: the geosync binary under test talks to the real engine through
//! it, and the test kills the binary (SIGKILL) while that request is held,
//! so a crash lands exactly between two engine calls, every time.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Child;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

pub struct EngineProxy {
    pub socket: PathBuf,
    held: Receiver<()>,
    _dir: tempfile::TempDir,
}

fn engine_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => PathBuf::from(host.trim_start_matches("unix://")),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

impl EngineProxy {
    /// Forwards everything, except the first request whose bytes contain
    /// `pattern` (such as `/containers/NAME/rename`): that one is never
    /// sent to the engine, and its connection stays open.
    pub fn holding(pattern: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let (tell, held) = channel();
        let pattern = pattern.as_bytes().to_vec();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let (tell, pattern) = (tell.clone(), pattern.clone());
                std::thread::spawn(move || relay(client, tell, &pattern));
            }
        });
        EngineProxy {
            socket,
            held,
            _dir: dir,
        }
    }

    /// `[docker] host` for a manifest that goes through the proxy.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Waits until the request is held, then kills the process (SIGKILL).
    pub fn kill_when_held(&self, mut child: Child) {
        let held = self.held.recv_timeout(Duration::from_secs(120));
        child.kill().unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            held.is_ok(),
            "geosync never sent the request\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn relay(mut client: UnixStream, tell: Sender<()>, pattern: &[u8]) {
    let Ok(mut engine) = UnixStream::connect(engine_socket()) else {
        return;
    };
    let (Ok(mut from_engine), Ok(mut to_client)) = (engine.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || std::io::copy(&mut from_engine, &mut to_client));
    let mut buffer = [0u8; 64 * 1024];
    // The previous chunk's tail: a pattern split across two reads is found.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let Ok(read) = client.read(&mut buffer) else {
            return;
        };
        if read == 0 {
            let _ = engine.shutdown(std::net::Shutdown::Write);
            return;
        }
        let mut window = tail.clone();
        window.extend_from_slice(&buffer[..read]);
        if window.windows(pattern.len()).any(|w| w == pattern) {
            let _ = tell.send(());
            // Hold it: read and drop until the client dies.
            while client.read(&mut buffer).is_ok_and(|n| n > 0) {}
            return;
        }
        if engine.write_all(&buffer[..read]).is_err() {
            return;
        }
        tail = window[window.len().saturating_sub(pattern.len())..].to_vec();
    }
}
