//! The older tonic of the support window, 0.13: the same layers on a 0.13 server and channel
//! produce the same spans (a smoke subset of the conformance test: a unary call answered OK and
//! one answered NOT_FOUND, client span above server span, at the real test agent).
//!
//! The service speaks plain text through a codec of its own, so no prost of tonic 0.13's age is
//! needed.

use ddtrace_conformance::TestAgent;
use ddtrace_tonic::{DatadogGrpcClientLayer, DatadogGrpcLayer};
use serde_json::Value;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use tonic013 as tonic;
use tonic013::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic013::{Request, Response, Status};

/// Messages as UTF-8 text.
#[derive(Clone, Copy, Default)]
struct TextCodec;

impl Codec for TextCodec {
    type Encode = String;
    type Decode = String;
    type Encoder = TextCodec;
    type Decoder = TextCodec;

    fn encoder(&mut self) -> TextCodec {
        TextCodec
    }

    fn decoder(&mut self) -> TextCodec {
        TextCodec
    }
}

impl Encoder for TextCodec {
    type Item = String;
    type Error = Status;

    fn encode(&mut self, item: String, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        bytes::BufMut::put_slice(dst, item.as_bytes());
        Ok(())
    }
}

impl Decoder for TextCodec {
    type Item = String;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<String>, Status> {
        let n = bytes::Buf::remaining(src);
        let raw = bytes::Buf::copy_to_bytes(src, n);
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| Status::invalid_argument("not UTF-8"))
    }
}

/// `/smoke.v1.Smoke/Echo` answers its text; `/smoke.v1.Smoke/Fail` fails with NOT_FOUND.
#[derive(Clone)]
struct Smoke;

impl tonic::server::NamedService for Smoke {
    const NAME: &'static str = "smoke.v1.Smoke";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl tower::Service<http::Request<tonic::body::Body>> for Smoke {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(TextCodec);
            let fails = req.uri().path().ends_with("/Fail");
            let handler = tower::service_fn(move |req: Request<String>| async move {
                if fails {
                    Err(Status::not_found("no such item"))
                } else {
                    Ok(Response::new(req.into_inner()))
                }
            });
            Ok(grpc.unary(handler, req).await)
        })
    }
}

#[test]
fn tonic_0_13_server_and_channel_get_the_same_spans() {
    let agent = TestAgent::start();
    let service = format!("tonic013-{}", std::process::id());
    let guard = agent.install_pipeline(&service);
    let port = ddtrace_conformance::agent::free_port();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (answer, failure) = runtime.block_on(async move {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .layer(DatadogGrpcLayer::new())
                .add_service(Smoke)
                .serve_with_shutdown(([127, 0, 0, 1], port).into(), async {
                    let _ = stopped.await;
                }),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect_lazy();
        let traced = tower::ServiceBuilder::new()
            .layer(DatadogGrpcClientLayer::new().target(format!("127.0.0.1:{port}")))
            .service(channel);
        let client = tonic::client::Grpc::new(traced);
        let call = |method: &'static str| {
            let path = http::uri::PathAndQuery::from_static(method);
            let mut client = client.clone();
            async move {
                // The server may still be binding: retry until it answers.
                for _ in 0..100 {
                    if client.ready().await.is_ok() {
                        let answer = client
                            .unary(Request::new("hello".to_string()), path.clone(), TextCodec)
                            .await;
                        if !matches!(&answer, Err(s) if s.code() == tonic::Code::Unavailable) {
                            return answer.map(|r| r.into_inner());
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(Status::unavailable("the server never answered"))
            }
        };
        let answer = call("/smoke.v1.Smoke/Echo").await;
        let failure = call("/smoke.v1.Smoke/Fail").await;
        let _ = stop.send(());
        let _ = server.await;
        (answer, failure)
    });
    drop(runtime);
    assert_eq!(answer.ok().as_deref(), Some("hello"));
    assert_eq!(failure.err().map(|s| s.code()), Some(tonic::Code::NotFound));
    guard.flush();
    let spans = agent.spans_once(4);
    guard.shutdown();
    let find = |name: &str, resource: &str| -> Option<&Value> {
        spans.iter().find(|s| {
            s["name"] == name
                && s["resource"] == resource
                && s["metrics"]["grpc.status.code"].is_number()
        })
    };
    for (resource, code, error) in [
        ("/smoke.v1.Smoke/Echo", 0.0, 0),
        ("/smoke.v1.Smoke/Fail", 5.0, 1),
    ] {
        let client = find("grpc.client", resource)
            .unwrap_or_else(|| panic!("no client span {resource}: {spans:#?}"));
        let server = find("grpc.server", resource)
            .unwrap_or_else(|| panic!("no server span {resource}: {spans:#?}"));
        assert_eq!(
            server["parent_id"], client["span_id"],
            "{resource}: the server span is the client span's child"
        );
        assert_eq!(server["trace_id"], client["trace_id"]);
        for span in [client, server] {
            assert_eq!(span["type"], "grpc");
            assert_eq!(span["meta"]["rpc.service"], "smoke.v1.Smoke");
            assert_eq!(
                span["metrics"]["grpc.status.code"].as_f64(),
                Some(code),
                "{span:#?}"
            );
            assert_eq!(span["error"].as_i64().unwrap_or(0), error, "{span:#?}");
        }
        if error == 1 {
            assert_eq!(server["meta"]["error.message"], "no such item");
            assert_eq!(server["meta"]["error.type"], "NOT_FOUND");
        }
    }
    agent.check_failures().unwrap();
}
