//! Agents that fail: the app must not notice, whatever the agent does.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// How a fake agent misbehaves.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Nothing listens: connections are refused.
    Down,
    /// Accepts connections and never answers.
    Hangs,
    /// Answers every request with 500.
    Answers500,
    /// Answers with bytes that are not HTTP.
    Garbage,
}

/// Starts a fake agent with `fault` and returns its URL.
pub fn start(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("fault bind");
    let port = listener.local_addr().expect("fault addr").port();
    match fault {
        Fault::Down => drop(listener),
        Fault::Hangs => {
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for stream in listener.incoming().flatten() {
                    held.push(stream); // never read, never answered, never closed
                }
            });
        }
        Fault::Answers500 | Fault::Garbage => {
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    std::thread::spawn(move || {
                        let _ = answer(stream, fault);
                    });
                }
            });
        }
    }
    format!("http://127.0.0.1:{port}")
}

fn answer(stream: TcpStream, fault: Fault) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    while crate::sink::skip_request(&mut reader)? {
        match fault {
            Fault::Garbage => {
                stream.write_all(b"\x00\xffnot http at all\r\n\r\n{{{{")?;
                return Ok(());
            }
            _ => stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nerror",
            )?,
        }
    }
    Ok(())
}
