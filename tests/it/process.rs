//! The real geosync binary as a running process: started in the
//! background (optionally on a pseudo-terminal, to reach its confirmation
//! prompt), watched, and killed with a real signal, for the crash points.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::Workspace;

/// Polls `check` until it holds or `timeout` passes.
pub fn poll(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

pub struct Running {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Running {
    /// geosync in the workspace, stdin closed, output collected.
    pub fn start(ws: &Workspace, args: &[&str]) -> Running {
        let mut command = ws.command(args);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("geosync starts");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            collect(stream, output.clone());
        }
        Running { child, output }
    }

    /// geosync on a pseudo-terminal, as a person at a terminal runs it.
    pub fn start_on_terminal(ws: &Workspace, args: &[&str]) -> Running {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty fills two descriptors this process then owns.
        let made = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here only.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut command: Command = ws.command(args);
        command
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        let child = command.spawn().expect("geosync starts");
        let output = Arc::new(Mutex::new(String::new()));
        collect(Box::new(std::fs::File::from(master)), output.clone());
        Running { child, output }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits for `text` in what the process printed.
    #[track_caller]
    pub fn wait_for_output(&self, text: &str) {
        let seen = poll(Duration::from_secs(60), || self.output().contains(text));
        assert!(
            seen,
            "geosync never printed {text:?}; it printed:\n{}",
            self.output()
        );
    }

    /// Sends a real signal and waits for the process to end.
    pub fn kill(mut self, signal: libc::c_int) -> String {
        // SAFETY: signalling a child this test started and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        let mut ended = false;
        poll(Duration::from_secs(60), || {
            ended = matches!(self.child.try_wait(), Ok(Some(_)));
            ended
        });
        assert!(ended, "geosync did not end on signal {signal}");
        self.output()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect(mut stream: Box<dyn Read + Send>, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        // A terminal's master side ends with EIO once the child is gone.
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
}

/// A Docker Engine socket that accepts connections and never answers:
/// a run that reads the platform's state waits on it for as long as the
/// test needs (the listener lives as long as this value).
pub struct SilentEngine {
    pub path: std::path::PathBuf,
    accepted: Arc<Mutex<usize>>,
}

impl SilentEngine {
    pub fn start(ws: &Workspace) -> SilentEngine {
        let path = ws.join("silent-engine.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let accepted = Arc::new(Mutex::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().map_while(Result::ok) {
                held.push(stream);
                *count.lock().unwrap() += 1;
            }
        });
        SilentEngine { path, accepted }
    }

    pub fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }

    /// A manifest section whose planning waits on this engine.
    pub fn manifest(&self) -> String {
        format!(
            "\n[docker]\nproject = \"corehang\"\nhost = \"unix://{}\"\n\n[[docker.network]]\nname = \"default\"\n",
            self.path.display()
        )
    }
}
