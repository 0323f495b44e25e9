//! A downstream server that records the headers of every request it receives, by path.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

type Captured = Arc<Mutex<HashMap<String, Vec<(String, String)>>>>;

/// Answers 200 to everything and remembers each request's headers (names lower-cased).
pub struct CaptureServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    captured: Captured,
}

impl CaptureServer {
    /// Starts the server on a free port, in background threads that live as long as the process.
    pub fn start() -> CaptureServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("capture bind");
        let port = listener.local_addr().expect("capture addr").port();
        let captured: Captured = Arc::default();
        let sink = captured.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &sink);
                });
            }
        });
        CaptureServer { port, captured }
    }

    /// The headers of the request made to `path`, if one arrived.
    pub fn headers(&self, path: &str) -> Option<Vec<(String, String)>> {
        self.captured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
            .cloned()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn handle(stream: std::net::TcpStream, sink: &Captured) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    sink.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(path, headers);
    let mut stream = stream;
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}
