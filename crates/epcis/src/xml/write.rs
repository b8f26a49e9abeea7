//! EPCIS 2.0 JSON-LD value -> EPCIS 2.0 XML text.

use super::{STANDARD_PREFIXES, XmlError, event_sequence};
use crate::document::{CbvField, EVENT_TYPES};
use quick_xml::escape::escape;
use serde_json::{Map, Value};

/// JSON nesting deeper than this is refused (the JSON parser's own limit is 64 by default).
const MAX_DEPTH: usize = 128;

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

fn invalid(pointer: &str, rule: impl Into<String>) -> XmlError {
    XmlError::Invalid {
        pointer: pointer.to_string(),
        rule: rule.into(),
    }
}

struct W {
    out: String,
    /// prefix -> namespace, from `@context`.
    ns: Vec<(String, String)>,
    /// Prefixes written, in first-use order.
    used: Vec<String>,
    /// Namespaces of full-IRI member names that got a generated prefix.
    generated: Vec<(String, String)>,
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

impl W {
    fn text(&mut self, s: &str) {
        self.out.push_str(&escape(s));
    }

    fn simple(&mut self, name: &str, text: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.text(text);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn use_prefix(&mut self, p: &str) {
        if !self.used.iter().any(|u| u == p) {
            self.used.push(p.to_string());
        }
    }

    /// XML qualified name of an extension member `prefix:local` or a full IRI.
    fn qname(&mut self, key: &str, pointer: &str) -> Result<String, XmlError> {
        if key.contains("://") || key.starts_with("urn:") {
            let cut = key.rfind(['/', '#', ':']).map_or(0, |i| i + 1);
            let (ns, local) = key.split_at(cut);
            if local.is_empty() || !is_ncname(local) {
                return Err(invalid(
                    pointer,
                    format!("member name `{key}` cannot be written as an XML element name"),
                ));
            }
            let p = match self.generated.iter().find(|(_, n)| n == ns) {
                Some((p, _)) => p.clone(),
                None => {
                    let p = format!("ns{}", self.generated.len() + 1);
                    self.generated.push((p.clone(), ns.to_string()));
                    p
                }
            };
            self.use_prefix(&p);
            return Ok(format!("{p}:{local}"));
        }
        let Some((p, local)) = key.split_once(':') else {
            return Ok(key.to_string());
        };
        if !is_ncname(p) || !is_ncname(local) {
            return Err(invalid(
                pointer,
                format!("member name `{key}` cannot be written as an XML element name"),
            ));
        }
        if !self.ns.iter().any(|(q, _)| q == p)
            && !STANDARD_PREFIXES.iter().any(|(q, _, _)| *q == p)
        {
            return Err(invalid(
                pointer,
                format!("namespace prefix `{p}` of `{key}` is not defined in @context"),
            ));
        }
        self.use_prefix(p);
        Ok(key.to_string())
    }

    fn namespace_of(&self, p: &str) -> Option<&str> {
        self.ns
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, n)| n.as_str())
            .or_else(|| {
                STANDARD_PREFIXES
                    .iter()
                    .find(|(q, _, _)| *q == p)
                    .map(|(_, _, xml)| *xml)
            })
            .or_else(|| {
                self.generated
                    .iter()
                    .find(|(q, _)| q == p)
                    .map(|(_, n)| n.as_str())
            })
    }

    /// A user extension member as element(s).
    fn ext(&mut self, key: &str, v: &Value, pointer: &str, depth: usize) -> Result<(), XmlError> {
        if depth > MAX_DEPTH {
            return Err(invalid(pointer, format!("nested deeper than {MAX_DEPTH}")));
        }
        let name = self.qname(key, pointer)?;
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if item.is_array() {
                        return Err(invalid(
                            &format!("{pointer}/{i}"),
                            "arrays of arrays have no XML form",
                        ));
                    }
                    self.ext(key, item, &format!("{pointer}/{i}"), depth + 1)?;
                }
            }
            Value::Object(m) => {
                self.out.push('<');
                self.out.push_str(&name);
                self.out.push('>');
                for (k, c) in m {
                    if k == "@value" {
                        if let Some(t) = scalar_text(c) {
                            self.text(&t);
                        }
                        continue;
                    }
                    self.ext(k, c, &format!("{pointer}/{}", esc_ptr(k)), depth + 1)?;
                }
                self.close(&name);
            }
            Value::String(s) => self.simple(&name, s),
            Value::Number(n) => {
                let ty = if n.is_f64() {
                    "xsd:decimal"
                } else {
                    "xsd:integer"
                };
                self.typed(&name, ty, &n.to_string());
            }
            Value::Bool(b) => self.typed(&name, "xsd:boolean", &b.to_string()),
            Value::Null => {
                self.use_prefix("xsi");
                self.out.push_str(&format!("<{name} xsi:nil=\"true\"/>"));
            }
        }
        Ok(())
    }

    fn typed(&mut self, name: &str, ty: &str, text: &str) {
        self.use_prefix("xsi");
        self.use_prefix("xsd");
        self.out.push_str(&format!(
            "<{name} xsi:type=\"{ty}\">{}</{name}>",
            escape(text)
        ));
    }

    fn id_list(
        &mut self,
        name: &str,
        item: &str,
        v: &Value,
        pointer: &str,
    ) -> Result<(), XmlError> {
        let items = v
            .as_array()
            .ok_or_else(|| invalid(pointer, "must be an array"))?;
        self.open(name);
        for (i, x) in items.iter().enumerate() {
            let s = x
                .as_str()
                .ok_or_else(|| invalid(&format!("{pointer}/{i}"), "must be a string"))?;
            self.simple(item, s);
        }
        self.close(name);
        Ok(())
    }

    fn quantity_list(&mut self, name: &str, v: &Value, pointer: &str) -> Result<(), XmlError> {
        let items = v
            .as_array()
            .ok_or_else(|| invalid(pointer, "must be an array"))?;
        self.open(name);
        for (i, q) in items.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            let q = q
                .as_object()
                .ok_or_else(|| invalid(&p, "must be an object"))?;
            self.open("quantityElement");
            for f in ["epcClass", "quantity", "uom"] {
                if let Some(x) = q.get(f) {
                    let t = scalar_text(x)
                        .ok_or_else(|| invalid(&format!("{p}/{f}"), "must be a scalar"))?;
                    self.simple(f, &t);
                }
            }
            if let Some(k) = q
                .keys()
                .find(|k| !["epcClass", "quantity", "uom"].contains(&k.as_str()))
            {
                return Err(invalid(
                    &format!("{p}/{k}"),
                    "not a member of a quantity element",
                ));
            }
            self.close("quantityElement");
        }
        self.close(name);
        Ok(())
    }

    fn object_exts(
        &mut self,
        m: &Map<String, Value>,
        standard: &[&str],
        pointer: &str,
        depth: usize,
    ) -> Result<(), XmlError> {
        for (k, v) in m {
            if standard.contains(&k.as_str()) {
                continue;
            }
            if !k.contains(':') {
                return Err(invalid(
                    &format!("{pointer}/{}", esc_ptr(k)),
                    format!("`{k}` is neither a standard member here nor a namespaced extension"),
                ));
            }
            self.ext(k, v, &format!("{pointer}/{}", esc_ptr(k)), depth + 1)?;
        }
        Ok(())
    }

    fn location(&mut self, name: &str, v: &Value, pointer: &str) -> Result<(), XmlError> {
        let m = v
            .as_object()
            .ok_or_else(|| invalid(pointer, "must be an object"))?;
        self.open(name);
        if let Some(id) = m.get("id").and_then(Value::as_str) {
            self.simple("id", id);
        }
        self.object_exts(m, &["id"], pointer, 1)?;
        self.close(name);
        Ok(())
    }

    fn typed_list(
        &mut self,
        name: &str,
        item: &str,
        field: CbvField,
        v: &Value,
        pointer: &str,
    ) -> Result<(), XmlError> {
        let items = v
            .as_array()
            .ok_or_else(|| invalid(pointer, "must be an array"))?;
        self.open(name);
        for (i, x) in items.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            let value = x
                .get(item)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(&format!("{p}/{item}"), "required string is missing"))?;
            self.out.push('<');
            self.out.push_str(item);
            if let Some(t) = x.get("type").and_then(Value::as_str) {
                self.out.push_str(" type=\"");
                self.out.push_str(&escape(field.xml_form(t)));
                self.out.push('"');
            }
            self.out.push('>');
            self.text(value);
            self.close(item);
        }
        self.close(name);
        Ok(())
    }

    fn sensor_attrs(
        &mut self,
        name: &str,
        m: &Map<String, Value>,
        pointer: &str,
    ) -> Result<(), XmlError> {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in m {
            let p = format!("{pointer}/{}", esc_ptr(k));
            let text = match (k.as_str(), v) {
                ("type", Value::String(s)) => CbvField::MeasurementType.xml_form(s),
                ("exception", Value::String(s)) => CbvField::SensorAlertType.xml_form(s),
                ("component", Value::String(s)) => CbvField::Component.xml_form(s),
                (_, v) => scalar_text(v).ok_or_else(|| {
                    invalid(
                        &p,
                        "sensor data members must be scalars (they are XML attributes)",
                    )
                })?,
            };
            let attr = if k.contains(':') {
                self.qname(k, &p)?
            } else {
                k.clone()
            };
            self.out
                .push_str(&format!(" {attr}=\"{}\"", escape(text.as_str())));
        }
        self.out.push_str("/>");
        Ok(())
    }

    fn sensor_element_list(&mut self, v: &Value, pointer: &str) -> Result<(), XmlError> {
        let items = v
            .as_array()
            .ok_or_else(|| invalid(pointer, "must be an array"))?;
        self.open("sensorElementList");
        for (i, se) in items.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            let m = se
                .as_object()
                .ok_or_else(|| invalid(&p, "must be an object"))?;
            self.open("sensorElement");
            if let Some(md) = m.get("sensorMetadata") {
                let md = md
                    .as_object()
                    .ok_or_else(|| invalid(&format!("{p}/sensorMetadata"), "must be an object"))?;
                self.sensor_attrs("sensorMetadata", md, &format!("{p}/sensorMetadata"))?;
            }
            if let Some(reports) = m.get("sensorReport") {
                let reports = reports
                    .as_array()
                    .ok_or_else(|| invalid(&format!("{p}/sensorReport"), "must be an array"))?;
                for (j, r) in reports.iter().enumerate() {
                    let rp = format!("{p}/sensorReport/{j}");
                    let r = r
                        .as_object()
                        .ok_or_else(|| invalid(&rp, "must be an object"))?;
                    self.sensor_attrs("sensorReport", r, &rp)?;
                }
            }
            self.object_exts(m, &["sensorMetadata", "sensorReport"], &p, 1)?;
            self.close("sensorElement");
        }
        self.close("sensorElementList");
        Ok(())
    }

    fn persistent_disposition(&mut self, v: &Value, pointer: &str) -> Result<(), XmlError> {
        self.open("persistentDisposition");
        for f in ["unset", "set"] {
            if let Some(a) = v.get(f) {
                let a = a
                    .as_array()
                    .ok_or_else(|| invalid(&format!("{pointer}/{f}"), "must be an array"))?;
                for x in a {
                    let s = x.as_str().unwrap_or_default();
                    self.simple(f, &CbvField::Disposition.xml_form(s));
                }
            }
        }
        self.close("persistentDisposition");
        Ok(())
    }

    fn error_declaration(&mut self, v: &Value, pointer: &str) -> Result<(), XmlError> {
        let m = v
            .as_object()
            .ok_or_else(|| invalid(pointer, "must be an object"))?;
        self.open("errorDeclaration");
        if let Some(t) = m.get("declarationTime").and_then(Value::as_str) {
            self.simple("declarationTime", t);
        }
        if let Some(r) = m.get("reason").and_then(Value::as_str) {
            self.simple("reason", &CbvField::ErrorReason.xml_form(r));
        }
        if let Some(ids) = m.get("correctiveEventIDs") {
            self.id_list(
                "correctiveEventIDs",
                "correctiveEventID",
                ids,
                &format!("{pointer}/correctiveEventIDs"),
            )?;
        }
        self.object_exts(
            m,
            &["declarationTime", "reason", "correctiveEventIDs"],
            pointer,
            1,
        )?;
        self.close("errorDeclaration");
        Ok(())
    }

    fn event(&mut self, ev: &Value, pointer: &str) -> Result<(), XmlError> {
        let m = ev
            .as_object()
            .ok_or_else(|| invalid(pointer, "an event must be an object"))?;
        let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
        let seq = event_sequence(ty).ok_or_else(|| {
            invalid(
                &format!("{pointer}/type"),
                format!("`{ty}` is not an EPCIS 2.0 event type"),
            )
        })?;
        self.open(ty);
        for &f in seq {
            let Some(v) = m.get(f) else { continue };
            let p = format!("{pointer}/{f}");
            match f {
                "bizStep" => self.simple(f, &CbvField::BizStep.xml_form(v.as_str().unwrap_or(""))),
                "disposition" => {
                    self.simple(f, &CbvField::Disposition.xml_form(v.as_str().unwrap_or("")))
                }
                "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => {
                    self.id_list(f, "epc", v, &p)?
                }
                "quantityList" | "childQuantityList" | "inputQuantityList"
                | "outputQuantityList" => self.quantity_list(f, v, &p)?,
                "readPoint" | "bizLocation" => self.location(f, v, &p)?,
                "bizTransactionList" => {
                    self.typed_list(f, "bizTransaction", CbvField::BizTransactionType, v, &p)?
                }
                "sourceList" => self.typed_list(f, "source", CbvField::SourceDestType, v, &p)?,
                "destinationList" => {
                    self.typed_list(f, "destination", CbvField::SourceDestType, v, &p)?
                }
                "sensorElementList" => self.sensor_element_list(v, &p)?,
                "persistentDisposition" => self.persistent_disposition(v, &p)?,
                "errorDeclaration" => self.error_declaration(v, &p)?,
                "ilmd" => {
                    let o = v
                        .as_object()
                        .ok_or_else(|| invalid(&p, "must be an object"))?;
                    self.open("ilmd");
                    self.object_exts(o, &[], &p, 1)?;
                    self.close("ilmd");
                }
                "certificationInfo" if v.is_array() => {
                    for x in v.as_array().into_iter().flatten() {
                        self.simple(f, x.as_str().unwrap_or_default());
                    }
                }
                _ => {
                    let t = scalar_text(v).ok_or_else(|| invalid(&p, "must be a string"))?;
                    self.simple(f, &t);
                }
            }
        }
        let mut standard: Vec<&str> = seq.to_vec();
        standard.extend(["type", "@context"]);
        self.object_exts(m, &standard, pointer, 0)?;
        self.close(ty);
        Ok(())
    }

    fn vocabulary_list(&mut self, v: &Value, pointer: &str) -> Result<(), XmlError> {
        let items = v
            .as_array()
            .ok_or_else(|| invalid(pointer, "must be an array"))?;
        self.open("VocabularyList");
        for (i, voc) in items.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            self.out.push_str("<Vocabulary type=\"");
            self.text(voc.get("type").and_then(Value::as_str).unwrap_or_default());
            self.out.push_str("\"><VocabularyElementList>");
            for (j, e) in voc
                .get("vocabularyElementList")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let ep = format!("{p}/vocabularyElementList/{j}");
                self.out.push_str("<VocabularyElement id=\"");
                self.text(e.get("id").and_then(Value::as_str).unwrap_or_default());
                self.out.push_str("\">");
                for (k, a) in e
                    .get("attributes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let ap = format!("{ep}/attributes/{k}");
                    self.out.push_str("<attribute id=\"");
                    self.text(a.get("id").and_then(Value::as_str).unwrap_or_default());
                    self.out.push_str("\">");
                    match a.get("attribute") {
                        Some(Value::Object(o)) => {
                            for (ok, ov) in o {
                                self.ext(ok, ov, &format!("{ap}/attribute/{}", esc_ptr(ok)), 1)?;
                            }
                        }
                        Some(x) => {
                            if let Some(t) = scalar_text(x) {
                                self.text(&t);
                            }
                        }
                        None => {}
                    }
                    self.out.push_str("</attribute>");
                }
                if let Some(ch) = e.get("children") {
                    self.id_list("children", "id", ch, &format!("{ep}/children"))?;
                }
                if let Some(o) = e.as_object() {
                    self.object_exts(o, &["id", "attributes", "children"], &ep, 1)?;
                }
                self.out.push_str("</VocabularyElement>");
            }
            self.out.push_str("</VocabularyElementList></Vocabulary>");
        }
        self.close("VocabularyList");
        Ok(())
    }

    fn event_list(&mut self, v: Option<&Value>, pointer: &str) -> Result<(), XmlError> {
        self.open("EventList");
        if let Some(v) = v {
            let a = v
                .as_array()
                .ok_or_else(|| invalid(pointer, "must be an array"))?;
            for (i, ev) in a.iter().enumerate() {
                self.event(ev, &format!("{pointer}/{i}"))?;
            }
        }
        self.close("EventList");
        Ok(())
    }

    /// `xmlns:` declarations for every prefix used.
    fn declarations(&self) -> String {
        let mut s = String::new();
        for p in &self.used {
            let ns = match p.as_str() {
                "xsi" => Some(XSI_NS),
                "xsd" => Some(XSD_NS),
                _ => self.namespace_of(p),
            };
            if let Some(ns) = ns {
                s.push_str(&format!(" xmlns:{p}=\"{}\"", escape(ns)));
            }
        }
        s
    }
}

fn esc_ptr(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn context_prefixes(ctx: Option<&Value>, out: &mut Vec<(String, String)>) {
    match ctx {
        Some(Value::Array(a)) => {
            for x in a {
                context_prefixes(Some(x), out);
            }
        }
        Some(Value::Object(o)) => {
            for (k, v) in o {
                if let Some(s) = v.as_str()
                    && !k.starts_with('@')
                    && !out.iter().any(|(p, _)| p == k)
                {
                    out.push((k.clone(), s.to_string()));
                }
            }
        }
        _ => {}
    }
}

pub(super) fn document(doc: &Value) -> Result<String, XmlError> {
    let root = doc
        .as_object()
        .ok_or_else(|| invalid("", "the document must be a JSON object"))?;
    let mut ns = Vec::new();
    context_prefixes(root.get("@context"), &mut ns);
    // Events may carry their own @context (namespaces declared "at different levels").
    for list in [
        "/epcisBody/eventList",
        "/epcisBody/queryResults/resultsBody/eventList",
    ] {
        for ev in doc
            .pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            context_prefixes(ev.get("@context"), &mut ns);
        }
    }
    let mut w = W {
        out: String::new(),
        ns,
        used: Vec::new(),
        generated: Vec::new(),
    };
    let ty = root.get("type").and_then(Value::as_str).unwrap_or("");
    if EVENT_TYPES.contains(&ty) {
        w.event(doc, "")?;
        let body = std::mem::take(&mut w.out);
        // Put the namespace declarations on the event element itself.
        let open = format!("<{ty}");
        let decls = w.declarations();
        let body = body.replacen(&open, &format!("<{ty}{decls}"), 1);
        return Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n"
        ));
    }
    let (root_name, root_ns_prefix, root_ns) = match ty {
        "EPCISDocument" => ("epcis:EPCISDocument", "epcis", "urn:epcglobal:epcis:xsd:2"),
        "EPCISQueryDocument" => (
            "epcisq:EPCISQueryDocument",
            "epcisq",
            "urn:epcglobal:epcis-query:xsd:2",
        ),
        other => {
            return Err(invalid(
                "/type",
                format!("`{other}` is not EPCISDocument, EPCISQueryDocument or an event type"),
            ));
        }
    };
    let mut attrs = String::new();
    let mut trailing = Vec::new();
    for (k, v) in root {
        match k.as_str() {
            "@context" | "type" | "epcisHeader" | "epcisBody" => {}
            _ if k.contains(':') => trailing.push((k, v)),
            _ => {
                let t = scalar_text(v)
                    .ok_or_else(|| invalid(&format!("/{}", esc_ptr(k)), "must be a scalar"))?;
                attrs.push_str(&format!(" {k}=\"{}\"", escape(t.as_str())));
            }
        }
    }
    if let Some(h) = root.get("epcisHeader") {
        let hm = h
            .as_object()
            .ok_or_else(|| invalid("/epcisHeader", "must be an object"))?;
        w.open("EPCISHeader");
        w.object_exts(hm, &["epcisMasterData"], "/epcisHeader", 0)?;
        if let Some(vl) = hm
            .get("epcisMasterData")
            .and_then(|m| m.get("vocabularyList"))
        {
            w.out.push_str("<extension><EPCISMasterData>");
            w.vocabulary_list(vl, "/epcisHeader/epcisMasterData/vocabularyList")?;
            w.out.push_str("</EPCISMasterData></extension>");
        }
        w.close("EPCISHeader");
    }
    let body = root
        .get("epcisBody")
        .ok_or_else(|| invalid("/epcisBody", "required member is missing"))?;
    w.open("EPCISBody");
    if ty == "EPCISDocument" {
        w.event_list(body.get("eventList"), "/epcisBody/eventList")?;
    } else {
        let qr = body
            .get("queryResults")
            .ok_or_else(|| invalid("/epcisBody/queryResults", "required member is missing"))?;
        w.open("epcisq:QueryResults");
        for f in ["queryName", "subscriptionID"] {
            if let Some(s) = qr.get(f).and_then(Value::as_str) {
                w.simple(f, s);
            }
        }
        w.open("resultsBody");
        let rb = qr.get("resultsBody");
        w.event_list(
            rb.and_then(|r| r.get("eventList")),
            "/epcisBody/queryResults/resultsBody/eventList",
        )?;
        if let Some(vl) = rb.and_then(|r| r.get("vocabularyList")) {
            w.vocabulary_list(vl, "/epcisBody/queryResults/resultsBody/vocabularyList")?;
        }
        w.close("resultsBody");
        w.close("epcisq:QueryResults");
    }
    w.close("EPCISBody");
    for (k, v) in trailing {
        w.ext(k, v, &format!("/{}", esc_ptr(k)), 0)?;
    }
    let body = std::mem::take(&mut w.out);
    let decls = w.declarations();
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root_name} xmlns:{root_ns_prefix}=\"{root_ns}\"{decls}{attrs}>{body}</{root_name}>\n"
    ))
}
