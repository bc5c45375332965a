//! An upstream that records every request it receives (raw header bytes, in
//! order) and answers 200 with the headers as JSON, plus the response
//! headers a test asked for (by the request's `x-test-id`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Received {
    /// All values of a header, in order.
    pub fn all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.all(name).into_iter().next()
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// All values of a header as (lossy) text.
    pub fn texts(&self, name: &str) -> Vec<String> {
        self.all(name)
            .into_iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Extra response headers per `x-test-id`.
type Replies = Arc<Mutex<BTreeMap<String, Vec<(String, String)>>>>;

#[derive(Clone)]
pub struct Echo {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    replies: Replies,
}

impl Echo {
    pub fn start() -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let replies = Replies::default();
        let (rec, rep) = (received.clone(), replies.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (rec, rep) = (rec.clone(), rep.clone());
                std::thread::spawn(move || serve(stream, rec, rep));
            }
        });
        Echo {
            port,
            received,
            replies,
        }
    }

    /// Answers the request carrying `x-test-id: id` with these extra
    /// response headers.
    pub fn reply_headers(&self, id: &str, headers: Vec<(String, String)>) {
        self.replies.lock().unwrap().insert(id.to_string(), headers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The one request carrying `x-test-id: id`.
    pub fn by_test_id(&self, id: &str) -> Received {
        one_by_test_id(&self.received(), id)
    }
}

/// The one request in `all` carrying `x-test-id: id`.
pub fn one_by_test_id(all: &[Received], id: &str) -> Received {
    let found: Vec<_> = all
        .iter()
        .filter(|r| r.get("x-test-id") == Some(id.as_bytes()))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one request with x-test-id {id}, got {all:#?}"
    );
    found[0].clone()
}

fn serve(stream: TcpStream, rec: Arc<Mutex<Vec<Received>>>, replies: Replies) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    while let Some(req) = read_request(&mut reader) {
        let json = serde_json::json!({
            "method": req.method,
            "path": req.path,
            "headers": req.headers
                .iter()
                .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect::<Vec<_>>(),
        })
        .to_string();
        let extra: String = req
            .text("x-test-id")
            .and_then(|id| replies.lock().unwrap().get(&id).cloned())
            .unwrap_or_default()
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect();
        rec.lock().unwrap().push(req);
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{}",
            json.len(),
            json
        );
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// Reads one HTTP/1.1 request (head and content-length body); `None` when
/// the connection closes.
pub fn read_request(reader: &mut impl BufRead) -> Option<Received> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
        return None;
    }
    let request_line = String::from_utf8_lossy(&line).trim().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = Vec::new();
        if reader.read_until(b'\n', &mut h).unwrap_or(0) == 0 {
            return None;
        }
        let h = h.strip_suffix(b"\r\n").unwrap_or(&h);
        if h.is_empty() {
            break;
        }
        if let Some(colon) = h.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&h[..colon]).to_ascii_lowercase();
            let value = h[colon + 1..].trim_ascii().to_vec();
            headers.push((name, value));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
    })
}
