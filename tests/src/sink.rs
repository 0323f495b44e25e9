//! A stand-in agent for benchmarks: accepts every request on the agent's endpoints, answers
//! 200 with the sampling rates a Datadog Agent sends, and discards the payloads, so the
//! tracer's exporter does its real work without a receiver's cost being measured.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Starts the sink on a free loopback port and returns the port. It answers with the default
/// rate only, as an agent does before it has seen a service.
pub fn start_discarding_agent() -> u16 {
    start_discarding_agent_on(0).expect("sink bind")
}

/// Starts the sink on a free loopback port for the traces of `service` (no `env`), and
/// returns the port. It answers with a rate for that service beside the default one, as a
/// Datadog Agent does once it has received the service's traces: the tracers then sample by
/// the agent's rate (mechanism 1), as they do in production.
pub fn start_agent_sink(service: &str) -> u16 {
    let reply =
        format!("{{\"rate_by_service\":{{\"service:{service},env:\":1.0,\"service:,env:\":1.0}}}}");
    start(0, reply.into_bytes()).expect("sink bind")
}

/// Starts the sink on `port` (0: a free one), for an agent that comes back where it was;
/// returns the port. It runs until the process ends.
pub fn start_discarding_agent_on(port: u16) -> std::io::Result<u16> {
    start(port, DEFAULT_RATES.to_vec())
}

/// What a Datadog Agent answers before it has rates of its own: the default rate.
const DEFAULT_RATES: &[u8] = b"{\"rate_by_service\":{\"service:,env:\":1.0}}";

fn start(port: u16, reply: Vec<u8>) -> std::io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    let reply: std::sync::Arc<[u8]> = reply.into();
    // Named so `measure::cpu_ns` leaves the receiver's CPU out.
    let spawned = std::thread::Builder::new()
        .name(crate::measure::SINK_THREAD.into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let reply = reply.clone();
                let _ = std::thread::Builder::new()
                    .name(crate::measure::SINK_THREAD.into())
                    .spawn(move || {
                        let _ = serve(stream, &reply);
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

fn serve(stream: std::net::TcpStream, reply: &[u8]) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    while skip_request(&mut reader)? {
        // A Datadog Agent versions its rates; the tracers (libdatadog's exporter) take rates
        // only from an answer whose version is new.
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDatadog-Rates-Payload-Version: 1\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(reply)?;
    }
    Ok(())
}
