//! A tiny gRPC server and client over h2c (the `h2` crate): unary calls
//! with opaque message bytes, which is all the filter sees of gRPC. The
//! server records every request's metadata and answers as the request asks:
//! - `x-answer-status: N` (default 0) is the `grpc-status`;
//! - `x-answer-form: trailers-only` answers with headers only (the status
//!   in them), otherwise headers, one message and trailers;
//! - `x-answer-message-bin` (decoded) becomes `grpc-message` and
//!   `x-answer-detail-bin` the custom metadata `x-detail`, both where the
//!   status goes: binary so that a text policy on the way in leaves them
//!   alone, and what the client gets shows the policy on the way out.

use super::echo::Received;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::{Arc, Mutex};

/// The message every answer carries: an empty protobuf message, framed.
const FRAME: [u8; 5] = [0, 0, 0, 0, 0];

pub struct GrpcServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

/// What the client got back.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Empty for a trailers-only response.
    pub trailers: Vec<(String, Vec<u8>)>,
}

impl Reply {
    /// `grpc-status`, from the trailers or a trailers-only response.
    pub fn grpc_status(&self) -> Option<String> {
        self.get("grpc-status")
    }

    /// A header or trailer as text (trailers first).
    pub fn get(&self, name: &str) -> Option<String> {
        self.trailers
            .iter()
            .chain(&self.headers)
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
}

fn pairs(map: &HeaderMap) -> Vec<(String, Vec<u8>)> {
    map.iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn header_map(list: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in list {
        map.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    map
}

impl GrpcServer {
    pub fn start() -> GrpcServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = received.clone();
        std::thread::spawn(move || {
            runtime().block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while let Ok((sock, _)) = listener.accept().await {
                    tokio::spawn(serve(sock, shared.clone()));
                }
            })
        });
        GrpcServer { port, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn by_test_id(&self, id: &str) -> Received {
        super::echo::one_by_test_id(&self.received(), id)
    }
}

async fn serve(sock: tokio::net::TcpStream, rec: Arc<Mutex<Vec<Received>>>) {
    let Ok(mut conn) = h2::server::handshake(sock).await else {
        return;
    };
    while let Some(Ok((req, respond))) = conn.accept().await {
        tokio::spawn(answer(req, respond, rec.clone()));
    }
}

async fn answer(
    req: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    rec: Arc<Mutex<Vec<Received>>>,
) {
    let (parts, mut body) = req.into_parts();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let ask = |name: &str| parts.headers.get(name).map(|v| v.as_bytes().to_vec());
    let mut status_meta: Vec<(&str, Vec<u8>)> = vec![(
        "grpc-status",
        ask("x-answer-status").unwrap_or(b"0".to_vec()),
    )];
    let decoded = |name| ask(name).map(|v| STANDARD.decode(v).unwrap());
    if let Some(m) = decoded("x-answer-message-bin") {
        status_meta.push(("grpc-message", m));
    }
    if let Some(d) = decoded("x-answer-detail-bin") {
        status_meta.push(("x-detail", d));
    }
    let status_meta: Vec<(&str, &[u8])> = status_meta.iter().map(|(n, v)| (*n, &v[..])).collect();
    let trailers_only = ask("x-answer-form").as_deref() == Some(b"trailers-only");
    rec.lock().unwrap().push(Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        headers: pairs(&parts.headers),
    });
    let mut head: Vec<(&str, &[u8])> = vec![("content-type", b"application/grpc")];
    if trailers_only {
        head.extend(&status_meta);
    }
    let mut resp = http::Response::new(());
    *resp.headers_mut() = header_map(&head);
    let Ok(mut stream) = respond.send_response(resp, trailers_only) else {
        return;
    };
    if !trailers_only {
        let _ = stream.send_data(Bytes::from_static(&FRAME), false);
        let _ = stream.send_trailers(header_map(&status_meta));
    }
}

/// One unary call over h2c to `port`: `path` is `/{service}/{method}`,
/// `metadata` the request headers besides the gRPC ones.
pub fn call(port: u16, path: &str, metadata: &[(&str, &[u8])]) -> Reply {
    runtime().block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (client, conn) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut client = client.ready().await.unwrap();
        let mut req = http::Request::post(format!("http://orders.shop{path}"))
            .body(())
            .unwrap();
        let mut head: Vec<(&str, &[u8])> = vec![
            ("content-type", b"application/grpc"),
            ("te", b"trailers"),
            ("grpc-timeout", b"5S"),
        ];
        head.extend(metadata);
        *req.headers_mut() = header_map(&head);
        let (resp, mut send) = client.send_request(req, false).unwrap();
        send.send_data(Bytes::from_static(&FRAME), true).unwrap();
        let resp = resp.await.unwrap();
        let status = resp.status().as_u16();
        let headers = pairs(resp.headers());
        let mut body = resp.into_body();
        while let Some(Ok(chunk)) = body.data().await {
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        let trailers = body
            .trailers()
            .await
            .unwrap()
            .map_or(Vec::new(), |t| pairs(&t));
        Reply {
            status,
            headers,
            trailers,
        }
    })
}
