//! The conformance service, `conformance.v1.Conformance`, written by hand as `tonic-build`
//! would generate it from this definition (so no `protoc` is needed to build it):
//!
//! ```proto
//! syntax = "proto3";
//! package conformance.v1;
//! message Echo { string text = 1; uint32 code = 2; uint32 count = 3; }
//! service Conformance {
//!   rpc Unary(Echo) returns (Echo);          // answers `text`, inside a `child.work` span
//!   rpc Echo(Echo) returns (Echo);           // answers `text`, nothing else (the benches')
//!   rpc Fail(Echo) returns (Echo);           // fails with status `code` and message `text`
//!   rpc Stream(Echo) returns (stream Echo);  // `count` messages, then status `code`
//!   rpc Panic(Echo) returns (Echo);          // the handler panics
//!   rpc Relay(Echo) returns (Echo);          // calls `Unary` of the downstream service
//! }
//! ```

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tonic::body::Body;
use tonic::codegen::{Bytes, StdError};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

/// The one message of the service.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Echo {
    /// The text to answer, or the status message to fail with.
    #[prost(string, tag = "1")]
    pub text: String,
    /// The status code to fail with (`Fail`, and `Stream` after its messages).
    #[prost(uint32, tag = "2")]
    pub code: u32,
    /// How many messages `Stream` sends.
    #[prost(uint32, tag = "3")]
    pub count: u32,
}

impl Echo {
    pub fn text(text: &str) -> Echo {
        Echo {
            text: text.to_string(),
            ..Echo::default()
        }
    }
}

/// The service's name, as in its full methods.
pub const SERVICE: &str = "conformance.v1.Conformance";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type EchoStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<Echo, Status>> + Send>>;

/// The server side. `C` is the channel `Relay` calls through.
#[derive(Clone)]
pub struct ConformanceServer<C> {
    downstream: Option<ConformanceClient<C>>,
}

impl<C> ConformanceServer<C> {
    pub fn new(downstream: Option<ConformanceClient<C>>) -> Self {
        ConformanceServer { downstream }
    }
}

impl<C> tonic::server::NamedService for ConformanceServer<C> {
    const NAME: &'static str = SERVICE;
}

fn unary(req: Request<Echo>) -> BoxFuture<Result<Response<Echo>, Status>> {
    Box::pin(async move {
        // The handler's own work, as the HTTP conformance apps do it: a child span.
        let span = tracing::info_span!("child.work");
        let _entered = span.enter();
        tracing::info!("handling Unary");
        Ok(Response::new(Echo::text(&req.into_inner().text)))
    })
}

fn echo(req: Request<Echo>) -> BoxFuture<Result<Response<Echo>, Status>> {
    Box::pin(async move { Ok(Response::new(req.into_inner())) })
}

fn fail(req: Request<Echo>) -> BoxFuture<Result<Response<Echo>, Status>> {
    let echo = req.into_inner();
    Box::pin(async move { Err(Status::new(Code::from(echo.code as i32), echo.text)) })
}

fn stream(req: Request<Echo>) -> BoxFuture<Result<Response<EchoStream>, Status>> {
    let echo = req.into_inner();
    Box::pin(async move {
        let messages = tokio_stream::iter(0..echo.count);
        let code = echo.code;
        let text = echo.text;
        let stream = async_stream(messages, code, text);
        Ok(Response::new(stream))
    })
}

/// `count` messages 50 ms apart, then the status `code` (an error in the trailers when it is
/// not OK).
fn async_stream(
    messages: impl tokio_stream::Stream<Item = u32> + Send + 'static,
    code: u32,
    text: String,
) -> EchoStream {
    use tokio_stream::StreamExt;
    let messages = messages.then(|i| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(Echo::text(&format!("message {i}")))
    });
    let end =
        tokio_stream::iter((code != 0).then(|| Err(Status::new(Code::from(code as i32), text))));
    Box::pin(messages.chain(end))
}

fn panic(_: Request<Echo>) -> BoxFuture<Result<Response<Echo>, Status>> {
    Box::pin(async move { panic!("conformance panic") })
}

impl<C> tower_service::Service<http::Request<Body>> for ConformanceServer<C>
where
    C: tonic::client::GrpcService<Body> + Clone + Send + 'static,
    C::Future: Send,
    C::Error: Into<StdError>,
    C::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <C::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let downstream = self.downstream.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<Echo, Echo>::default());
            let method = req
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            Ok(match method.as_str() {
                "Unary" => grpc.unary(tower::service_fn(unary), req).await,
                "Echo" => grpc.unary(tower::service_fn(echo), req).await,
                "Fail" => grpc.unary(tower::service_fn(fail), req).await,
                "Stream" => grpc.server_streaming(tower::service_fn(stream), req).await,
                "Panic" => grpc.unary(tower::service_fn(panic), req).await,
                "Relay" => {
                    let relay = move |req: Request<Echo>| {
                        let downstream = downstream.clone();
                        async move {
                            let Some(mut client) = downstream else {
                                return Err(Status::failed_precondition("no downstream service"));
                            };
                            client.unary(req.into_inner()).await
                        }
                    };
                    grpc.unary(tower::service_fn(relay), req).await
                }
                _ => Status::unimplemented(format!("no method {method}")).into_http(),
            })
        })
    }
}

/// The client side, over any channel (traced or not).
#[derive(Clone)]
pub struct ConformanceClient<C> {
    inner: tonic::client::Grpc<C>,
}

impl<C> ConformanceClient<C>
where
    C: tonic::client::GrpcService<Body>,
    C::Error: Into<StdError>,
    C::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <C::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
{
    pub fn new(channel: C) -> Self {
        ConformanceClient {
            inner: tonic::client::Grpc::new(channel),
        }
    }

    fn path(method: &str) -> http::uri::PathAndQuery {
        format!("/{SERVICE}/{method}")
            .parse()
            .unwrap_or_else(|_| http::uri::PathAndQuery::from_static("/"))
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.inner
            .ready()
            .await
            .map_err(|e| Status::unavailable(e.into().to_string()))
    }

    /// A unary call to `method` (any name: an unknown one answers UNIMPLEMENTED).
    pub async fn call(
        &mut self,
        method: &str,
        req: impl tonic::IntoRequest<Echo>,
    ) -> Result<Response<Echo>, Status> {
        self.ready().await?;
        let codec = ProstCodec::<Echo, Echo>::default();
        self.inner
            .unary(req.into_request(), Self::path(method), codec)
            .await
    }

    pub async fn unary(
        &mut self,
        req: impl tonic::IntoRequest<Echo>,
    ) -> Result<Response<Echo>, Status> {
        self.call("Unary", req).await
    }

    /// `Stream`, read to its end: the messages' texts, then the status.
    pub async fn stream(
        &mut self,
        req: impl tonic::IntoRequest<Echo>,
    ) -> Result<Vec<String>, Status> {
        self.ready().await?;
        let codec = ProstCodec::<Echo, Echo>::default();
        let mut stream = self
            .inner
            .server_streaming(req.into_request(), Self::path("Stream"), codec)
            .await?
            .into_inner();
        let mut texts = Vec::new();
        while let Some(message) = stream.message().await? {
            texts.push(message.text);
        }
        Ok(texts)
    }
}
