//! The event format that adds the correlation attributes to another format's lines.

use super::{Ids, LogCorrelation};
use std::cell::RefCell;
use std::fmt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

/// A `tracing-subscriber` event format that adds `dd.trace_id`, `dd.span_id`, `dd.service`,
/// `dd.env` and `dd.version` to the lines `F` writes while a span of a trace is current: at
/// the root of a JSON line, as `key=value` pairs at the end of a text line. Lines outside any
/// trace are `F`'s, untouched.
///
/// Made by [`LogCorrelation::format`], [`super::json`] and [`super::text`].
///
/// ```
/// use ddtrace_core::logs::LogCorrelation;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let format = LogCorrelation::from_env().format(tracing_subscriber::fmt::format().compact());
/// let subscriber =
///     tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().event_format(format));
/// # let _ = subscriber;
/// ```
///
/// A correlated text line is written by `F` without colours, whatever the terminal: the
/// attributes go at its end, which `F` cannot be asked to leave room for.
#[derive(Clone, Debug)]
pub struct CorrelatedFormat<F> {
    settings: LogCorrelation,
    inner: F,
}

impl<F> CorrelatedFormat<F> {
    pub(super) fn new(settings: LogCorrelation, inner: F) -> Self {
        CorrelatedFormat { settings, inner }
    }
}

thread_local! {
    /// The line `F` writes for a correlated event, reused from one event to the next.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A line buffer kept between events: no larger than this, so one huge event does not keep
/// its memory for the thread's life.
const KEEP: usize = 16 * 1024;

impl<S, N, F> FormatEvent<S, N> for CorrelatedFormat<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = if self.settings.enabled {
            Ids::current()
        } else {
            None
        };
        let Some(ids) = ids else {
            return self.inner.format_event(ctx, writer, event);
        };
        let write = |line: &mut String, writer: &mut Writer<'_>| -> fmt::Result {
            line.clear();
            self.inner.format_event(ctx, Writer::new(line), event)?;
            splice(line, writer, &ids, &self.settings)
        };
        let buffered = LINE.try_with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                // An event written while this thread formats another: a buffer of its own.
                return write(&mut String::new(), &mut writer);
            };
            let written = write(&mut line, &mut writer);
            if line.capacity() > KEEP {
                *line = String::new();
            }
            written
        });
        match buffered {
            Ok(written) => written,
            // The thread is ending: a buffer of its own.
            Err(_) => write(&mut String::new(), &mut writer),
        }
    }
}

/// Writes `line` with the attributes: first at the root of a JSON object, else before the
/// line's end.
fn splice(
    line: &str,
    writer: &mut Writer<'_>,
    ids: &Ids,
    settings: &LogCorrelation,
) -> fmt::Result {
    let mut trace_id = TraceIdText::default();
    let trace_id = trace_id.write(ids.trace_id(), settings.trace_id_128_bit);
    let mut span_id = [0u8; 20];
    let span_id = crate::decimal::write_u64(ids.span_id(), &mut span_id);
    let [service, env, version] = ids.unified(settings);
    let fields = [
        ("dd.trace_id", trace_id),
        ("dd.span_id", span_id),
        ("dd.service", service),
        ("dd.env", env),
        ("dd.version", version),
    ];
    if let Some(rest) = line.strip_prefix('{') {
        writer.write_char('{')?;
        for (i, (key, value)) in fields.into_iter().enumerate() {
            if i > 0 {
                writer.write_char(',')?;
            }
            writer.write_char('"')?;
            writer.write_str(key)?;
            writer.write_str("\":")?;
            json_string(writer, value)?;
        }
        if !rest.trim_start().starts_with('}') {
            writer.write_char(',')?;
        }
        return writer.write_str(rest);
    }
    let body = line.trim_end_matches(['\n', '\r']);
    writer.write_str(body)?;
    for (key, value) in fields {
        write!(writer, " {key}={}", TextValue(value))?;
    }
    writer.write_str(&line[body.len()..])
}

/// A trace id as log lines write it, on the stack.
#[derive(Default)]
struct TraceIdText {
    buf: [u8; 32],
}

impl TraceIdText {
    /// 32 hex digits for a 128-bit id when `full`, else the low 64 bits in decimal.
    fn write(&mut self, id: u128, full: bool) -> &str {
        let high = (id >> 64) as u64;
        if full && high != 0 {
            let (a, b) = self.buf.split_at_mut(16);
            let mut hex = [0u8; 16];
            a.copy_from_slice(crate::propagation::hex16(&mut hex, high).as_bytes());
            b.copy_from_slice(crate::propagation::hex16(&mut hex, id as u64).as_bytes());
            return std::str::from_utf8(&self.buf).unwrap_or_default();
        }
        let mut digits = [0u8; 20];
        let text = crate::decimal::write_u64(id as u64, &mut digits);
        let n = text.len();
        self.buf[..n].copy_from_slice(text.as_bytes());
        std::str::from_utf8(&self.buf[..n]).unwrap_or_default()
    }
}

/// `s` as a JSON string.
fn json_string(writer: &mut Writer<'_>, s: &str) -> fmt::Result {
    writer.write_char('"')?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => {
                writer.write_str(&s[start..i])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
                continue;
            }
            _ => continue,
        };
        writer.write_str(&s[start..i])?;
        writer.write_str(escape)?;
        start = i + c.len_utf8();
    }
    writer.write_str(&s[start..])?;
    writer.write_char('"')
}

/// A text value: quoted when it holds a space, a quote or `=`, so the pair stays one token.
struct TextValue<'a>(&'a str);

impl fmt::Display for TextValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = !self.0.is_empty()
            && !self
                .0
                .contains(|c: char| c.is_whitespace() || c == '"' || c == '=');
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

#[cfg(test)]
pub(super) fn json_string_for_tests(writer: &mut Writer<'_>, s: &str) -> fmt::Result {
    json_string(writer, s)
}
