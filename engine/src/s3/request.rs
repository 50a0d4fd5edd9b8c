//! One S3 request, as the operations describe it before it is signed and sent.

use crate::http::RequestBody;
use crate::sign::encode::encode_query_component;
use std::borrow::Cow;

/// What an operation asks for: method, bucket, key, query, extra headers and body.
#[derive(Debug)]
pub struct S3Request {
    /// HTTP method.
    pub method: http::Method,
    /// The bucket, or `None` for ListBuckets.
    pub bucket: Option<String>,
    /// The object key, if any.
    pub key: Option<String>,
    /// Query pairs, percent-encoded once.
    pub query: Vec<(String, String)>,
    /// Extra headers (lower-case names), all signed.
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body.
    pub body: RequestBody,
    /// Sign the body's SHA-256 instead of `UNSIGNED-PAYLOAD` (small XML bodies).
    pub sign_body: bool,
}

impl S3Request {
    /// A request with no query, headers or body.
    pub fn new(method: http::Method, bucket: Option<&str>, key: Option<&str>) -> Self {
        Self {
            method,
            bucket: bucket.map(str::to_owned),
            key: key.map(str::to_owned),
            query: Vec::new(),
            headers: Vec::new(),
            body: RequestBody::empty(),
            sign_body: false,
        }
    }

    /// Adds a query parameter (raw name and value; encoded here).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        let mut n = String::with_capacity(name.len());
        encode_query_component(name, &mut n);
        let mut v = String::with_capacity(value.len());
        encode_query_component(value, &mut v);
        self.query.push((n, v));
        self
    }

    /// Adds a query parameter when the value is present.
    pub fn query_opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.query(name, value),
            None => self,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header when the value is present.
    pub fn header_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.header(name, value),
            None => self,
        }
    }

    /// Sets the body.
    pub fn body(mut self, body: RequestBody) -> Self {
        self.body = body;
        self
    }

    /// Sets a small XML body whose SHA-256 is signed.
    pub fn xml_body(mut self, xml: String) -> Self {
        self.body = RequestBody::bytes(bytes::Bytes::from(xml));
        self.sign_body = true;
        self.header("content-type", "application/xml")
    }
}
