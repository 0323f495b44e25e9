//! A stand-in agent for benchmarks: accepts every request on the agent's endpoints, answers
//! 200 with an empty sampling-rates document, and discards the payloads, so the tracer's
//! exporter does its real work without a receiver's cost being measured.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Starts the sink on a free loopback port and returns the port.
pub fn start_discarding_agent() -> u16 {
    start_discarding_agent_on(0).expect("sink bind")
}

/// Starts the sink on `port` (0: a free one), for an agent that comes back where it was;
/// returns the port. It runs until the process ends.
pub fn start_discarding_agent_on(port: u16) -> std::io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    // Named so `measure::cpu_ns` leaves the receiver's CPU out.
    let spawned = std::thread::Builder::new()
        .name(crate::measure::SINK_THREAD.into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = std::thread::Builder::new()
                    .name(crate::measure::SINK_THREAD.into())
                    .spawn(move || {
                        let _ = serve(stream);
                    });
            }
        });
    spawned?;
    Ok(port)
}

/// Reads one HTTP/1.1 request (head and `content-length` body) and discards it; `false` when
/// the peer closed the connection.
pub(crate) fn skip_request<R: BufRead>(reader: &mut R) -> std::io::Result<bool> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(false);
    }
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(false);
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    std::io::copy(&mut reader.take(length as u64), &mut std::io::sink())?;
    Ok(true)
}

fn serve(stream: std::net::TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    while skip_request(&mut reader)? {
        // What a Datadog Agent answers before it has rates of its own: the default rate, so
        // the tracers sample by agent rate (mechanism 1) as they do in production.
        let reply = b"{\"rate_by_service\":{\"service:,env:\":1.0}}";
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(reply)?;
    }
    Ok(())
}
