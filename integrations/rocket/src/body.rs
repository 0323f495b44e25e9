use ddtrace_core::{ErrorInfo, RequestSpan};
use rocket::response::Body;
use rocket::tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A response body that ends the request span at its end of stream, on an error, or when
/// dropped (the client went away).
pub(crate) struct TracedReader<'r> {
    inner: Body<'r>,
    span: Option<RequestSpan>,
}

impl<'r> TracedReader<'r> {
    pub(crate) fn new(inner: Body<'r>, span: RequestSpan) -> Self {
        TracedReader {
            inner,
            span: Some(span),
        }
    }
}

impl AsyncRead for TracedReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                if let Some(span) = self.span.take() {
                    span.finish();
                }
            }
            Poll::Ready(Err(e)) => {
                if let Some(mut span) = self.span.take() {
                    span.record_error(ErrorInfo::new("std::io::Error", e.to_string()));
                    span.finish();
                }
            }
            _ => {}
        }
        polled
    }
}

/// rocket seeks a body only to learn its size, and this one is always given its size when it
/// is installed, so seeking is never asked of it.
impl AsyncSeek for TracedReader<'_> {
    fn start_seek(self: Pin<&mut Self>, _: io::SeekFrom) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a traced rocket body is not seekable",
        ))
    }

    fn poll_complete(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a traced rocket body is not seekable",
        )))
    }
}
