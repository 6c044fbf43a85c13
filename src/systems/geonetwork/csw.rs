//! A CSW 2.0.2 Transaction (CSW-T) client, for catalogues that speak only
//! CSW: Insert, Update and Delete of ISO 19139 records, the
//! TransactionSummary read back, and GetRecordById. The body is always
//! parsed: a catalogue may refuse a transaction with HTTP 200 and an
//! ows:ExceptionReport (pycsw does, for a duplicate Insert).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::{NsReader, Reader};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;

use super::client::{display_url, short_body};
use super::GeoNetworkError;
use crate::manifest::secret::Secret;

pub const CSW_NS: &str = "http://www.opengis.net/cat/csw/2.0.2";
pub const OWS_NS: &str = "http://www.opengis.net/ows";
pub const DC_NS: &str = "http://purl.org/dc/elements/1.1/";
pub const GMD_NS: &str = "http://www.isotc211.org/2005/gmd";

/// What a transaction did, from csw:TransactionSummary, and the
/// identifiers of the records inserted (csw:InsertResult).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionSummary {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub inserted_ids: Vec<String>,
}

pub struct CswClient {
    http: reqwest::Client,
    url: String,
    user: Option<String>,
    password: Option<Secret>,
}

impl CswClient {
    /// `url` is the CSW endpoint (pycsw: its root; GeoNetwork: /srv/eng/csw-publication).
    pub fn new(
        url: &str,
        user: Option<String>,
        password: Option<Secret>,
        timeout: std::time::Duration,
    ) -> Result<Self, GeoNetworkError> {
        super::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GeoNetworkError::Setup(e.without_url().to_string()))?;
        Ok(CswClient {
            http,
            url: url.to_string(),
            user,
            password,
        })
    }

    /// csw:Insert of one record.
    pub async fn insert(&self, record_xml: &str) -> Result<TransactionSummary, GeoNetworkError> {
        let record = record_body(record_xml)?;
        self.transaction("Insert", &format!("<csw:Insert>{record}</csw:Insert>"))
            .await
    }

    /// csw:Update with the whole record: the catalogue replaces the record
    /// of the same identifier.
    pub async fn update(&self, record_xml: &str) -> Result<TransactionSummary, GeoNetworkError> {
        let record = record_body(record_xml)?;
        self.transaction("Update", &format!("<csw:Update>{record}</csw:Update>"))
            .await
    }

    /// csw:Delete of the record with this identifier. Deleting a record
    /// that is not there deletes nothing (totalDeleted 0): the caller reads
    /// the count.
    pub async fn delete(&self, identifier: &str) -> Result<TransactionSummary, GeoNetworkError> {
        let body = format!(
            "<csw:Delete><csw:Constraint version=\"1.1.0\"><ogc:Filter><ogc:PropertyIsEqualTo>\
             <ogc:PropertyName>apiso:Identifier</ogc:PropertyName><ogc:Literal>{}</ogc:Literal>\
             </ogc:PropertyIsEqualTo></ogc:Filter></csw:Constraint></csw:Delete>",
            escape_text(identifier)
        );
        self.transaction("Delete", &body).await
    }

    /// GetRecordById in ISO 19139 (full): the gmd:MD_Metadata document, or
    /// None when the catalogue has no record of that identifier.
    pub async fn get_record_by_id(&self, identifier: &str) -> Result<Option<String>, GeoNetworkError> {
        let query = [
            ("service", "CSW"),
            ("version", "2.0.2"),
            ("request", "GetRecordById"),
            ("id", identifier),
            ("outputSchema", GMD_NS),
            ("elementSetName", "full"),
        ];
        let shown = display_url(&self.url, &query);
        let mut request = self.http.get(&self.url).query(&query);
        if let Some(user) = &self.user {
            request = request.basic_auth(user, self.password.as_ref().map(Secret::expose));
        }
        let (status, text) = self.read(request, "GET", &shown).await?;
        check_exception("GetRecordById", &shown, &text)?;
        if status != StatusCode::OK {
            return Err(http_error("GET", &shown, status, &text));
        }
        Ok(has_child_element(&text, &shown)?.then_some(text))
    }

    async fn transaction(&self, operation: &str, inner: &str) -> Result<TransactionSummary, GeoNetworkError> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<csw:Transaction service=\"CSW\" version=\"2.0.2\" \
             xmlns:csw=\"{CSW_NS}\" xmlns:ogc=\"http://www.opengis.net/ogc\" \
             xmlns:apiso=\"http://www.opengis.net/cat/csw/apiso/1.0\">{inner}</csw:Transaction>"
        );
        let shown = display_url(&self.url, &[]);
        let mut request = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/xml")
            .body(body);
        if let Some(user) = &self.user {
            request = request.basic_auth(user, self.password.as_ref().map(Secret::expose));
        }
        let (status, text) = self.read(request, "POST", &shown).await?;
        let what = format!("Transaction/{operation}");
        check_exception(&what, &shown, &text)?;
        if status != StatusCode::OK {
            return Err(http_error("POST", &shown, status, &text));
        }
        parse_summary(&text).map_err(|detail| GeoNetworkError::Unexpected {
            method: "POST".into(),
            url: shown,
            detail,
        })
    }

    async fn read(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        shown: &str,
    ) -> Result<(StatusCode, String), GeoNetworkError> {
        let transport = |source: reqwest::Error| GeoNetworkError::Transport {
            method: method.to_string(),
            url: shown.to_string(),
            source: source.without_url(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        Ok((status, text))
    }
}

fn http_error(method: &str, url: &str, status: StatusCode, text: &str) -> GeoNetworkError {
    GeoNetworkError::Http {
        method: method.into(),
        url: url.into(),
        status: status.as_u16(),
        body: short_body(text),
    }
}

/// The record's root element onwards: well-formed, an XML declaration or
/// comments before it dropped (it goes inside a transaction), no DOCTYPE
/// (entities are not forwarded to a catalogue).
pub fn record_body(xml: &str) -> Result<&str, GeoNetworkError> {
    let bad = |detail: String| GeoNetworkError::RecordXml(detail);
    let mut reader = Reader::from_str(xml);
    let mut root = None;
    let mut depth = 0usize;
    loop {
        let position = reader.buffer_position() as usize;
        match reader.read_event() {
            Err(e) => return Err(bad(format!("at byte {}: {e}", reader.error_position()))),
            Ok(Event::Eof) => break,
            Ok(Event::DocType(_)) => return Err(bad("a DOCTYPE is refused".into())),
            Ok(Event::Start(_)) => {
                if root.is_none() {
                    root = Some(position);
                } else if depth == 0 {
                    return Err(bad("more than one root element".into()));
                }
                depth += 1;
            }
            Ok(Event::Empty(_)) if depth == 0 => {
                if root.is_some() {
                    return Err(bad("more than one root element".into()));
                }
                root = Some(position);
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(_) => {}
        }
    }
    let start = root.ok_or_else(|| bad("no root element".into()))?;
    if depth != 0 {
        return Err(bad("the document ends inside an element".into()));
    }
    Ok(xml[start..].trim())
}

/// Text escaped for an XML element's content.
pub fn escape_text(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// An ows:ExceptionReport in the body is an error, whatever the status.
fn check_exception(operation: &str, url: &str, text: &str) -> Result<(), GeoNetworkError> {
    if let Some((code, locator, message)) = parse_exception(text) {
        return Err(GeoNetworkError::CswException {
            operation: operation.into(),
            url: url.into(),
            code,
            locator,
            text: short_body(&message),
        });
    }
    Ok(())
}

fn is(ns: &ResolveResult, uri: &str) -> bool {
    matches!(ns, ResolveResult::Bound(n) if n.as_ref() == uri.as_bytes())
}

/// (exceptionCode, locator, ExceptionText) of the first ows:Exception of an
/// ows:ExceptionReport root, or None when the body is something else.
pub fn parse_exception(text: &str) -> Option<(String, Option<String>, String)> {
    let mut reader = NsReader::from_str(text);
    let mut first = true;
    let mut exception: Option<(String, Option<String>)> = None;
    let mut in_text = false;
    let mut message = String::new();
    loop {
        let (ns, event) = reader.read_resolved_event().ok()?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let local = e.local_name();
                if first {
                    if !(is(&ns, OWS_NS) && local.as_ref() == b"ExceptionReport") {
                        return None;
                    }
                    first = false;
                } else if is(&ns, OWS_NS) && local.as_ref() == b"Exception" && exception.is_none() {
                    let attr = |name: &[u8]| {
                        e.try_get_attribute(name)
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                    };
                    exception = Some((attr(b"exceptionCode").unwrap_or_default(), attr(b"locator")));
                } else if is(&ns, OWS_NS) && local.as_ref() == b"ExceptionText" && message.is_empty() {
                    in_text = true;
                }
            }
            Event::Text(t) if in_text => message.push_str(&t.unescape().ok()?),
            Event::CData(t) if in_text => message.push_str(&String::from_utf8_lossy(&t)),
            Event::End(_) => in_text = false,
            Event::Eof => break,
            _ => {}
        }
    }
    let (code, locator) = exception.unwrap_or_default();
    Some((code, locator, message.trim().to_string()))
}

/// Reads csw:TransactionResponse: the totals and the inserted identifiers.
pub fn parse_summary(text: &str) -> Result<TransactionSummary, String> {
    let mut reader = NsReader::from_str(text);
    let mut summary = TransactionSummary::default();
    let mut path: Vec<String> = Vec::new();
    let mut seen_root = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("not XML: {e}"))?;
        match event {
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let is_root = is(&ns, CSW_NS) && local == "TransactionResponse";
                if !seen_root && !is_root {
                    return Err(format!("expected csw:TransactionResponse, found {local}"));
                }
                seen_root = true;
                let tagged = match &ns {
                    ResolveResult::Bound(n) if n.as_ref() == CSW_NS.as_bytes() => format!("csw:{local}"),
                    ResolveResult::Bound(n) if n.as_ref() == DC_NS.as_bytes() => format!("dc:{local}"),
                    _ => local,
                };
                path.push(tagged);
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|e| e.to_string())?.trim().to_string();
                let count = || {
                    value
                        .parse::<u64>()
                        .map_err(|_| format!("`{value}` is not a count"))
                };
                match path.last().map(String::as_str) {
                    Some("csw:totalInserted") => summary.inserted = count()?,
                    Some("csw:totalUpdated") => summary.updated = count()?,
                    Some("csw:totalDeleted") => summary.deleted = count()?,
                    Some("dc:identifier") if path.iter().any(|p| p == "csw:InsertResult") => {
                        summary.inserted_ids.push(value)
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("an empty answer".into());
    }
    Ok(summary)
}

/// Whether the response's root element has an element child (a
/// GetRecordByIdResponse with a record in it).
fn has_child_element(text: &str, url: &str) -> Result<bool, GeoNetworkError> {
    let mut reader = Reader::from_str(text);
    let mut depth = 0;
    loop {
        match reader.read_event() {
            Err(e) => {
                return Err(GeoNetworkError::Unexpected {
                    method: "GET".into(),
                    url: url.into(),
                    detail: format!("not XML: {e}"),
                })
            }
            Ok(Event::Start(_)) | Ok(Event::Empty(_)) if depth >= 1 => return Ok(true),
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::Eof) => return Ok(false),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_with_inserted_ids() {
        let text = r#"<?xml version="1.0"?><csw:TransactionResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0.2">
          <csw:TransactionSummary><csw:totalInserted>1</csw:totalInserted><csw:totalUpdated>0</csw:totalUpdated><csw:totalDeleted>0</csw:totalDeleted></csw:TransactionSummary>
          <csw:InsertResult><csw:BriefRecord><dc:identifier>abc</dc:identifier><dc:title>t</dc:title></csw:BriefRecord></csw:InsertResult></csw:TransactionResponse>"#;
        let summary = parse_summary(text).unwrap();
        assert_eq!(
            summary,
            TransactionSummary {
                inserted: 1,
                updated: 0,
                deleted: 0,
                inserted_ids: vec!["abc".into()]
            }
        );
    }

    #[test]
    fn exception_report_is_read_and_anything_else_is_not_one() {
        let text = r#"<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0"><ows:Exception exceptionCode="NoApplicableCode" locator="insert"><ows:ExceptionText>Transaction failed: UNIQUE constraint &amp; more</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"#;
        let (code, locator, message) = parse_exception(text).unwrap();
        assert_eq!(code, "NoApplicableCode");
        assert_eq!(locator.as_deref(), Some("insert"));
        assert_eq!(message, "Transaction failed: UNIQUE constraint & more");
        assert!(parse_exception("<csw:TransactionResponse xmlns:csw=\"x\"/>").is_none());
        assert!(parse_exception("not xml <").is_none());
        // An ExceptionReport in another namespace is not OWS's.
        assert!(parse_exception("<ExceptionReport><Exception/></ExceptionReport>").is_none());
    }

    #[test]
    fn summary_refuses_other_documents_and_bad_counts() {
        assert!(parse_summary("<a/>").is_err());
        assert!(parse_summary("").is_err());
        let bad = r#"<csw:TransactionResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"><csw:TransactionSummary><csw:totalInserted>x</csw:totalInserted></csw:TransactionSummary></csw:TransactionResponse>"#;
        assert!(parse_summary(bad).is_err());
    }

    #[test]
    fn record_body_drops_the_declaration_and_checks_the_document() {
        let xml =
            "<?xml version=\"1.0\"?>\n<!-- c -->\n<gmd:MD_Metadata xmlns:gmd=\"g\"><a/></gmd:MD_Metadata>\n";
        assert_eq!(
            record_body(xml).unwrap(),
            "<gmd:MD_Metadata xmlns:gmd=\"g\"><a/></gmd:MD_Metadata>"
        );
        assert!(record_body("<a><b></a>").is_err());
        assert!(record_body("<a/><b/>").is_err());
        assert!(record_body("").is_err());
        assert!(record_body("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").is_err());
    }

    #[test]
    fn identifiers_are_escaped_in_filters() {
        assert_eq!(escape_text("a<b&\"c"), "a&lt;b&amp;&quot;c");
    }
}
