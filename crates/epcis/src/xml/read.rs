//! XML element tree -> EPCIS 2.0 JSON-LD value.

use super::tree::{Attr, Declarations, Element, XSI};
use super::{EPCIS_CONTEXT_URL, XmlError, event_sequence, is_epcis_namespace};
use crate::document::{CbvField, EVENT_TYPES, compact_cbv_value};
use serde_json::{Map, Number, Value};
use std::collections::VecDeque;

/// Handles the standard children of an element with an extension point; returns false for a
/// child it does not know.
type StdChild<'f, 'a> =
    dyn FnMut(&mut Ctx<'a>, &Element, &mut Map<String, Value>) -> Result<bool, XmlError> + 'f;

/// Converts events while the XML streams by (see [`super::tree::Sink`]).
pub(super) struct Streamer {
    strict: bool,
    max_events: usize,
    count: usize,
    used: Vec<(String, String)>,
    current: Vec<Value>,
    lists: VecDeque<Vec<Value>>,
}

impl Streamer {
    pub(super) fn new(strict: bool, max_events: usize) -> Self {
        Streamer {
            strict,
            max_events,
            count: 0,
            used: Vec::new(),
            current: Vec::new(),
            lists: VecDeque::new(),
        }
    }

    pub(super) fn on_close(
        &mut self,
        ancestors: &[Element],
        decls: &Declarations,
        el: Element,
    ) -> Result<Option<Element>, XmlError> {
        if !is_std(&el) {
            return Ok(Some(el));
        }
        if el.local == "EventList" {
            self.lists.push_back(std::mem::take(&mut self.current));
            return Ok(Some(el));
        }
        let n = ancestors.len();
        let in_list = |i: usize| {
            ancestors
                .get(i)
                .is_some_and(|a| is_std(a) && a.local == "EventList")
        };
        let under_list = n >= 1
            && (in_list(n - 1)
                || (n >= 2 && in_list(n - 2) && ancestors[n - 1].local == "extension"));
        if !under_list || !EVENT_TYPES.contains(&el.local.as_str()) {
            return Ok(Some(el));
        }
        self.count += 1;
        if self.count > self.max_events {
            return Err(XmlError::TooLarge {
                what: "events",
                max: self.max_events,
            });
        }
        let list = if ancestors.iter().any(|a| a.local == "resultsBody") {
            "/epcisBody/queryResults/resultsBody/eventList"
        } else {
            "/epcisBody/eventList"
        };
        let pointer = format!("{list}/{}", self.current.len());
        let mut ctx = Ctx {
            decls,
            check_order: self.strict && !is_epcis_1x(ancestors.first().unwrap_or(&el), decls),
            used: std::mem::take(&mut self.used),
            lists: VecDeque::new(),
        };
        let ev = ctx.event(&el, &pointer);
        self.used = ctx.used;
        self.current.push(ev?);
        Ok(None)
    }
}

fn is_epcis_1x(root: &Element, decls: &Declarations) -> bool {
    root.ns.as_deref().is_some_and(|ns| ns.ends_with(":xsd:1"))
        || decls
            .iter()
            .any(|(_, ns)| ns == "urn:epcglobal:epcis:xsd:1")
}

struct Ctx<'a> {
    decls: &'a Declarations,
    /// Event lists converted while streaming, in document order.
    lists: VecDeque<Vec<Value>>,
    /// Check the EPCIS 2.0 XSD element order (not for EPCIS 1.x documents, whose `extension`
    /// wrappers order the same fields differently).
    check_order: bool,
    /// Prefixes used by extension members, with their namespace (for `@context`).
    used: Vec<(String, String)>,
}

fn invalid(pointer: &str, rule: impl Into<String>) -> XmlError {
    XmlError::Invalid {
        pointer: pointer.to_string(),
        rule: rule.into(),
    }
}

/// Unqualified, or qualified with an EPCIS schema namespace.
fn is_std(el: &Element) -> bool {
    el.ns.as_deref().is_none_or(is_epcis_namespace)
}

fn insert_multi(m: &mut Map<String, Value>, key: String, v: Value) {
    match m.get_mut(&key) {
        None => {
            m.insert(key, v);
        }
        Some(Value::Array(a)) => a.push(v),
        Some(old) => {
            let first = old.take();
            *old = Value::Array(vec![first, v]);
        }
    }
}

/// A decimal as a JSON number; left a string (for the validator to report) when it is not one.
fn number(s: &str) -> Value {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::Number(i.into());
    }
    match t.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) if !t.is_empty() => Value::Number(n),
        _ => Value::String(t.to_string()),
    }
}

/// A leaf extension element: `xsi:type` numeric or boolean values become JSON numbers and
/// booleans (this is how [`super::json_to_xml_document`] writes them); everything else is text.
fn typed_leaf(el: &Element) -> Value {
    let t = el.text();
    let ty = el
        .attrs
        .iter()
        .find(|a| a.ns.as_deref() == Some(XSI) && a.local == "type")
        .map(|a| a.value.rsplit(':').next().unwrap_or("").to_string());
    match ty.as_deref() {
        Some("integer" | "int" | "long" | "short" | "decimal" | "double" | "float") => {
            match number(t) {
                n @ Value::Number(_) => n,
                _ => Value::String(t.to_string()),
            }
        }
        Some("boolean") if t == "true" || t == "false" => Value::Bool(t == "true"),
        _ => Value::String(t.to_string()),
    }
}

fn cbv(field: CbvField, s: &str) -> Value {
    let t = s.trim();
    Value::String(compact_cbv_value(field, t).unwrap_or(t).to_string())
}

impl<'a> Ctx<'a> {
    fn prefix_for(&mut self, written: Option<&str>, ns: &str) -> String {
        let p = match written {
            Some(p) => p.to_string(),
            None => match self
                .decls
                .iter()
                .find(|(p, u)| !p.is_empty() && u == ns)
                .map(|(p, _)| p.clone())
            {
                Some(p) => p,
                None => match self.used.iter().find(|(_, u)| u == ns) {
                    Some((p, _)) => p.clone(),
                    None => format!("ns{}", self.used.len() + 1),
                },
            },
        };
        if !self.used.iter().any(|(q, _)| *q == p) {
            self.used.push((p.clone(), ns.to_string()));
        }
        p
    }

    fn el_key(&mut self, el: &Element) -> String {
        match &el.ns {
            Some(ns) if !is_epcis_namespace(ns) => {
                format!("{}:{}", self.prefix_for(el.prefix.as_deref(), ns), el.local)
            }
            _ => el.local.clone(),
        }
    }

    fn attr_key(&mut self, a: &Attr) -> String {
        match &a.ns {
            Some(ns) => format!("{}:{}", self.prefix_for(a.prefix.as_deref(), ns), a.local),
            None => a.local.clone(),
        }
    }

    /// A user extension element: text, or an object of its attributes and children.
    fn ext_value(&mut self, el: &Element) -> Value {
        let attrs: Vec<&Attr> = el
            .attrs
            .iter()
            .filter(|a| a.ns.as_deref() != Some(XSI))
            .collect();
        if el.children.is_empty() && attrs.is_empty() {
            return typed_leaf(el);
        }
        let mut m = Map::new();
        for a in attrs {
            let k = self.attr_key(a);
            m.insert(k, Value::String(a.value.clone()));
        }
        for c in &el.children {
            let k = self.el_key(c);
            let v = self.ext_value(c);
            insert_multi(&mut m, k, v);
        }
        if !el.text().is_empty() {
            m.insert("@value".into(), Value::String(el.text().to_string()));
        }
        Value::Object(m)
    }

    fn ext_into(&mut self, el: &Element, m: &mut Map<String, Value>) {
        let k = self.el_key(el);
        let v = self.ext_value(el);
        insert_multi(m, k, v);
    }

    /// Children of an object with an extension point (`readPoint`, `ilmd`, `errorDeclaration`,
    /// ...): `std` handles the standard children and returns false for unknown ones.
    fn object_with_extensions(
        &mut self,
        el: &Element,
        pointer: &str,
        m: &mut Map<String, Value>,
        std: &mut StdChild<'_, 'a>,
    ) -> Result<(), XmlError> {
        for c in &el.children {
            if is_std(c) {
                if c.local == "extension" {
                    self.object_with_extensions(c, pointer, m, std)?;
                } else if !std(self, c, m)? {
                    return Err(invalid(
                        &format!("{pointer}/{}", c.local),
                        format!("<{}> is not allowed in <{}>", c.local, el.local),
                    ));
                }
            } else {
                self.ext_into(c, m);
            }
        }
        Ok(())
    }

    fn id_list(&mut self, el: &Element, item: &str, pointer: &str) -> Result<Value, XmlError> {
        let mut out = Vec::with_capacity(el.children.len());
        for c in &el.children {
            if c.local != item || !is_std(c) {
                return Err(invalid(
                    &format!("{pointer}/{}", out.len()),
                    format!("<{}> found where <{item}> was expected", c.qname()),
                ));
            }
            out.push(Value::String(c.text().to_string()));
        }
        Ok(Value::Array(out))
    }

    fn quantity_list(&mut self, el: &Element, pointer: &str) -> Result<Value, XmlError> {
        let mut out = Vec::new();
        for (i, q) in el.children.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            if q.local != "quantityElement" {
                return Err(invalid(
                    &p,
                    format!("<{}> found where <quantityElement> was expected", q.qname()),
                ));
            }
            let mut m = Map::new();
            for c in &q.children {
                match c.local.as_str() {
                    "epcClass" => {
                        m.insert("epcClass".into(), Value::String(c.text().to_string()));
                    }
                    "quantity" if c.is_nil() => {}
                    "quantity" => {
                        m.insert("quantity".into(), number(c.text()));
                    }
                    "uom" => {
                        m.insert("uom".into(), Value::String(c.text().to_string()));
                    }
                    other => {
                        return Err(invalid(
                            &format!("{p}/{other}"),
                            format!("<{other}> is not allowed in <quantityElement>"),
                        ));
                    }
                }
            }
            out.push(Value::Object(m));
        }
        Ok(Value::Array(out))
    }

    fn location(&mut self, el: &Element, pointer: &str) -> Result<Value, XmlError> {
        let mut m = Map::new();
        self.object_with_extensions(el, pointer, &mut m, &mut |_, c, m| {
            Ok(c.local == "id" && {
                m.insert("id".into(), Value::String(c.text().to_string()));
                true
            })
        })?;
        Ok(Value::Object(m))
    }

    fn typed_list(
        &mut self,
        el: &Element,
        item: &str,
        field: CbvField,
        pointer: &str,
    ) -> Result<Value, XmlError> {
        let mut out = Vec::new();
        for (i, c) in el.children.iter().enumerate() {
            if c.local != item {
                return Err(invalid(
                    &format!("{pointer}/{i}"),
                    format!("<{}> found where <{item}> was expected", c.qname()),
                ));
            }
            let mut m = Map::new();
            if let Some(t) = c.attr("type") {
                m.insert("type".into(), cbv(field, t));
            }
            m.insert(item.into(), Value::String(c.text().to_string()));
            out.push(Value::Object(m));
        }
        Ok(Value::Array(out))
    }

    fn sensor_attrs(&mut self, el: &Element, m: &mut Map<String, Value>) {
        for a in &el.attrs {
            if a.ns.as_deref() == Some(XSI) {
                continue;
            }
            if a.ns.is_some() {
                let k = self.attr_key(a);
                m.insert(k, Value::String(a.value.clone()));
                continue;
            }
            let v = match a.local.as_str() {
                "value" | "minValue" | "maxValue" | "meanValue" | "sDev" | "percRank"
                | "percValue" => number(&a.value),
                "booleanValue" => match a.value.trim() {
                    "true" | "1" => Value::Bool(true),
                    "false" | "0" => Value::Bool(false),
                    other => Value::String(other.to_string()),
                },
                "type" => cbv(CbvField::MeasurementType, &a.value),
                "exception" => cbv(CbvField::SensorAlertType, &a.value),
                "component" => cbv(CbvField::Component, &a.value),
                _ => Value::String(a.value.clone()),
            };
            m.insert(a.local.clone(), v);
        }
    }

    fn sensor_element_list(&mut self, el: &Element, pointer: &str) -> Result<Value, XmlError> {
        let mut out = Vec::new();
        for (i, se) in el.children.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            if !is_std(se) || se.local == "extension" {
                // SensorElementListExtensionType: nothing standard in it.
                continue;
            }
            if se.local != "sensorElement" {
                return Err(invalid(
                    &p,
                    format!("<{}> found where <sensorElement> was expected", se.qname()),
                ));
            }
            let mut m = Map::new();
            let mut reports = Vec::new();
            self.object_with_extensions(se, &p, &mut m, &mut |ctx, c, m| {
                match c.local.as_str() {
                    "sensorMetadata" => {
                        let mut md = Map::new();
                        ctx.sensor_attrs(c, &mut md);
                        for cc in &c.children {
                            ctx.ext_into(cc, &mut md);
                        }
                        m.insert("sensorMetadata".into(), Value::Object(md));
                    }
                    "sensorReport" => {
                        let mut r = Map::new();
                        ctx.sensor_attrs(c, &mut r);
                        for cc in &c.children {
                            ctx.ext_into(cc, &mut r);
                        }
                        reports.push(Value::Object(r));
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            // `sensorReport` goes after `sensorMetadata`, before extensions, as in the examples.
            let mut ordered = Map::new();
            if let Some(md) = m.remove("sensorMetadata") {
                ordered.insert("sensorMetadata".into(), md);
            }
            ordered.insert("sensorReport".into(), Value::Array(reports));
            ordered.extend(m);
            out.push(Value::Object(ordered));
        }
        Ok(Value::Array(out))
    }

    fn persistent_disposition(&mut self, el: &Element, pointer: &str) -> Result<Value, XmlError> {
        let (mut set, mut unset) = (Vec::new(), Vec::new());
        for c in &el.children {
            match c.local.as_str() {
                "set" => set.push(cbv(CbvField::Disposition, c.text())),
                "unset" => unset.push(cbv(CbvField::Disposition, c.text())),
                other => {
                    return Err(invalid(
                        &format!("{pointer}/{other}"),
                        format!("<{other}> is not allowed in <persistentDisposition>"),
                    ));
                }
            }
        }
        let mut m = Map::new();
        if !set.is_empty() {
            m.insert("set".into(), Value::Array(set));
        }
        if !unset.is_empty() {
            m.insert("unset".into(), Value::Array(unset));
        }
        Ok(Value::Object(m))
    }

    fn error_declaration(&mut self, el: &Element, pointer: &str) -> Result<Value, XmlError> {
        let mut m = Map::new();
        self.object_with_extensions(el, pointer, &mut m, &mut |ctx, c, m| {
            match c.local.as_str() {
                "declarationTime" => {
                    m.insert(c.local.clone(), Value::String(c.text().to_string()));
                }
                "reason" => {
                    m.insert("reason".into(), cbv(CbvField::ErrorReason, c.text()));
                }
                "correctiveEventIDs" => {
                    let ids = ctx.id_list(c, "correctiveEventID", pointer)?;
                    m.insert("correctiveEventIDs".into(), ids);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Value::Object(m))
    }

    fn ilmd(&mut self, el: &Element) -> Value {
        let mut m = Map::new();
        self.ilmd_into(el, &mut m);
        Value::Object(m)
    }

    fn ilmd_into(&mut self, el: &Element, m: &mut Map<String, Value>) {
        for c in &el.children {
            if is_std(c) && c.local == "extension" {
                self.ilmd_into(c, m);
            } else {
                self.ext_into(c, m);
            }
        }
    }

    /// One event element (`ObjectEvent`, ...).
    fn event(&mut self, el: &Element, pointer: &str) -> Result<Value, XmlError> {
        let ty = el.local.as_str();
        let seq = event_sequence(ty).ok_or_else(|| {
            invalid(
                pointer,
                format!("<{}> is not an EPCIS 2.0 event type", el.qname()),
            )
        })?;
        let mut m = Map::new();
        m.insert("type".into(), Value::String(ty.to_string()));
        let mut last = 0usize;
        let mut last_name = "";
        self.event_fields(el, pointer, seq, &mut last, &mut last_name, &mut m)?;
        Ok(Value::Object(m))
    }

    fn event_fields<'e>(
        &mut self,
        el: &'e Element,
        pointer: &str,
        seq: &[&'static str],
        last: &mut usize,
        last_name: &mut &'e str,
        m: &mut Map<String, Value>,
    ) -> Result<(), XmlError> {
        for c in &el.children {
            if !is_std(c) {
                self.ext_into(c, m);
                continue;
            }
            let name = c.local.as_str();
            if name == "extension" || name == "baseExtension" {
                self.event_fields(c, pointer, seq, last, last_name, m)?;
                continue;
            }
            let p = format!("{pointer}/{name}");
            let Some(idx) = seq.iter().position(|s| *s == name) else {
                return Err(invalid(
                    &p,
                    format!(
                        "<{name}> is not an element of <{}> (EPCIS 2.0 XSD); user extensions need a namespace",
                        el.local
                    ),
                ));
            };
            if self.check_order && idx < *last {
                return Err(invalid(
                    &p,
                    format!(
                        "<{name}> must come before <{last_name}> (element order of the EPCIS 2.0 XSD)"
                    ),
                ));
            }
            *last = idx;
            *last_name = name;
            let v = match name {
                "bizStep" => cbv(CbvField::BizStep, c.text()),
                "disposition" => cbv(CbvField::Disposition, c.text()),
                "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => {
                    self.id_list(c, "epc", &p)?
                }
                "quantityList" | "childQuantityList" | "inputQuantityList"
                | "outputQuantityList" => self.quantity_list(c, &p)?,
                "readPoint" | "bizLocation" => self.location(c, &p)?,
                "bizTransactionList" => {
                    self.typed_list(c, "bizTransaction", CbvField::BizTransactionType, &p)?
                }
                "sourceList" => self.typed_list(c, "source", CbvField::SourceDestType, &p)?,
                "destinationList" => {
                    self.typed_list(c, "destination", CbvField::SourceDestType, &p)?
                }
                "sensorElementList" => self.sensor_element_list(c, &p)?,
                "persistentDisposition" => self.persistent_disposition(c, &p)?,
                "ilmd" => self.ilmd(c),
                "errorDeclaration" => self.error_declaration(c, &p)?,
                _ => Value::String(c.text().to_string()),
            };
            if name == "certificationInfo" {
                insert_multi(m, name.to_string(), v);
            } else if m.insert(name.to_string(), v).is_some() {
                return Err(invalid(&p, format!("<{name}> may appear only once")));
            }
        }
        Ok(())
    }

    fn event_list(&mut self, el: &Element, pointer: &str) -> Result<Vec<Value>, XmlError> {
        // The events were converted while streaming; what is left are the other children.
        let mut out = self.lists.pop_front().unwrap_or_default();
        self.event_list_into(el, pointer, &mut out)?;
        Ok(out)
    }

    fn event_list_into(
        &mut self,
        el: &Element,
        pointer: &str,
        out: &mut Vec<Value>,
    ) -> Result<(), XmlError> {
        for c in &el.children {
            if is_std(c) && c.local == "extension" {
                // EPCIS 1.x: <extension><TransformationEvent>...</extension>
                self.event_list_into(c, pointer, out)?;
                continue;
            }
            let p = format!("{pointer}/{}", out.len());
            out.push(self.event(c, &p)?);
        }
        Ok(())
    }

    fn vocabulary_list(&mut self, el: &Element, pointer: &str) -> Result<Value, XmlError> {
        let mut out = Vec::new();
        for (i, v) in el
            .children
            .iter()
            .filter(|c| c.local == "Vocabulary")
            .enumerate()
        {
            let p = format!("{pointer}/{i}");
            let mut m = Map::new();
            if let Some(t) = v.attr("type") {
                m.insert("type".into(), Value::String(t.to_string()));
            }
            let mut elements = Vec::new();
            for vel in v
                .children
                .iter()
                .filter(|c| c.local == "VocabularyElementList")
                .flat_map(|c| c.children.iter())
            {
                let mut e = Map::new();
                if let Some(id) = vel.attr("id") {
                    e.insert("id".into(), Value::String(id.to_string()));
                }
                let mut attributes = Vec::new();
                for c in &vel.children {
                    match c.local.as_str() {
                        "attribute" if is_std(c) => {
                            let mut a = Map::new();
                            if let Some(id) = c.attr("id") {
                                a.insert("id".into(), Value::String(id.to_string()));
                            }
                            let value = if c.children.is_empty() {
                                Value::String(c.text().to_string())
                            } else {
                                let mut o = Map::new();
                                for cc in &c.children {
                                    self.ext_into(cc, &mut o);
                                }
                                Value::Object(o)
                            };
                            a.insert("attribute".into(), value);
                            attributes.push(Value::Object(a));
                        }
                        "children" if is_std(c) => {
                            let ids = self.id_list(c, "id", &format!("{p}/children"))?;
                            e.insert("children".into(), ids);
                        }
                        "extension" if is_std(c) => {}
                        _ => self.ext_into(c, &mut e),
                    }
                }
                if !attributes.is_empty() {
                    e.insert("attributes".into(), Value::Array(attributes));
                }
                elements.push(Value::Object(e));
            }
            m.insert("vocabularyElementList".into(), Value::Array(elements));
            out.push(Value::Object(m));
        }
        Ok(Value::Array(out))
    }

    fn find_master_data(&mut self, el: &Element) -> Result<Option<Value>, XmlError> {
        for c in &el.children {
            if !is_std(c) {
                continue;
            }
            match c.local.as_str() {
                "EPCISMasterData" => {
                    if let Some(vl) = c.children.iter().find(|x| x.local == "VocabularyList") {
                        return Ok(Some(self.vocabulary_list(
                            vl,
                            "/epcisHeader/epcisMasterData/vocabularyList",
                        )?));
                    }
                }
                "extension" => {
                    if let Some(v) = self.find_master_data(c)? {
                        return Ok(Some(v));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }

    fn header(&mut self, el: &Element) -> Result<Value, XmlError> {
        let mut m = Map::new();
        for c in &el.children {
            if !is_std(c) {
                self.ext_into(c, &mut m);
            }
        }
        if let Some(vl) = self.find_master_data(el)? {
            m.insert(
                "epcisMasterData".into(),
                serde_json::json!({ "vocabularyList": vl }),
            );
        }
        Ok(Value::Object(m))
    }

    fn query_results(&mut self, qr: &Element) -> Result<Value, XmlError> {
        let mut q = Map::new();
        for f in ["queryName", "subscriptionID"] {
            if let Some(x) = child(qr, f) {
                q.insert(f.into(), Value::String(x.text().to_string()));
            }
        }
        let mut rb = Map::new();
        let p = "/epcisBody/queryResults/resultsBody";
        if let Some(r) = child(qr, "resultsBody") {
            let events = match child(r, "EventList") {
                Some(l) => self.event_list(l, &format!("{p}/eventList"))?,
                None => Vec::new(),
            };
            rb.insert("eventList".into(), Value::Array(events));
            if let Some(vl) = child(r, "VocabularyList") {
                let v = self.vocabulary_list(vl, &format!("{p}/vocabularyList"))?;
                rb.insert("vocabularyList".into(), v);
            }
        }
        q.insert("resultsBody".into(), Value::Object(rb));
        Ok(Value::Object(q))
    }

    /// The standard context, then every namespace prefix the converted members use, even those
    /// the standard context also defines (so that readers with other defaults agree).
    fn context(&self) -> Value {
        let mut ctx = vec![Value::String(EPCIS_CONTEXT_URL.to_string())];
        for (p, ns) in &self.used {
            let mut o = Map::new();
            o.insert(p.clone(), Value::String(ns.clone()));
            ctx.push(Value::Object(o));
        }
        Value::Array(ctx)
    }

    /// Document-level attributes: those with a JSON member of the same name (`schemaVersion`,
    /// `creationDate`, and `id`, `sender`, `receiver`, `instanceIdentifier` as
    /// [`super::json_to_xml_document`] writes them) and namespaced ones as extension members;
    /// `xsi:*` and other unqualified attributes (no place in the JSON binding) are dropped.
    fn root_attrs(&mut self, el: &Element, m: &mut Map<String, Value>) {
        const MEMBERS: [&str; 6] = [
            "schemaVersion",
            "creationDate",
            "id",
            "sender",
            "receiver",
            "instanceIdentifier",
        ];
        for a in &el.attrs {
            if a.ns.as_deref() == Some(XSI)
                || (a.ns.is_none() && !MEMBERS.contains(&a.local.as_str()))
            {
                continue;
            }
            let k = self.attr_key(a);
            m.insert(k, Value::String(a.value.clone()));
        }
    }
}

fn child<'e>(el: &'e Element, local: &str) -> Option<&'e Element> {
    el.children.iter().find(|c| c.local == local && is_std(c))
}

/// Converts the root element.
pub(super) fn document(
    root: &Element,
    decls: &Declarations,
    streamed: Streamer,
) -> Result<Value, XmlError> {
    let strict = streamed.strict;
    let mut ctx = Ctx {
        decls,
        check_order: strict && !is_epcis_1x(root, decls),
        used: streamed.used,
        lists: streamed.lists,
    };
    let name = root.local.as_str();
    if EVENT_TYPES.contains(&name) {
        let ev = ctx.event(root, "")?;
        let mut m = Map::new();
        m.insert("@context".into(), ctx.context());
        if let Value::Object(e) = ev {
            m.extend(e);
        }
        return Ok(Value::Object(m));
    }
    let mut top = Map::new();
    top.insert("@context".into(), Value::Null);
    let kind = match name {
        "EPCISDocument" | "EPCISMasterDataDocument" => "EPCISDocument",
        "EPCISQueryDocument" => "EPCISQueryDocument",
        _ => {
            return Err(XmlError::UnsupportedRoot { name: root.qname() });
        }
    };
    top.insert("type".into(), Value::String(kind.into()));
    ctx.root_attrs(root, &mut top);
    let mut header: Option<Value> = None;
    let mut body = Map::new();
    for c in &root.children {
        if !is_std(c) {
            ctx.ext_into(c, &mut top);
            continue;
        }
        match c.local.as_str() {
            "EPCISHeader" => header = Some(ctx.header(c)?),
            "EPCISBody" => match name {
                "EPCISDocument" => {
                    let events = match child(c, "EventList") {
                        Some(l) => ctx.event_list(l, "/epcisBody/eventList")?,
                        None => Vec::new(),
                    };
                    body.insert("eventList".into(), Value::Array(events));
                }
                "EPCISMasterDataDocument" => {
                    if let Some(vl) = child(c, "VocabularyList") {
                        let v =
                            ctx.vocabulary_list(vl, "/epcisHeader/epcisMasterData/vocabularyList")?;
                        let h = header.get_or_insert_with(|| Value::Object(Map::new()));
                        if let Some(h) = h.as_object_mut() {
                            h.insert(
                                "epcisMasterData".into(),
                                serde_json::json!({ "vocabularyList": v }),
                            );
                        }
                    }
                    body.insert("eventList".into(), Value::Array(Vec::new()));
                }
                _ => {
                    let qr = child(c, "QueryResults").ok_or_else(|| {
                        invalid("/epcisBody/queryResults", "<QueryResults> is missing")
                    })?;
                    body.insert("queryResults".into(), ctx.query_results(qr)?);
                }
            },
            // Anything else (for a lenient query document: the QueryResults content directly
            // under the root, read below).
            _ => {}
        }
    }
    if !strict && name == "EPCISQueryDocument" && !body.contains_key("queryResults") {
        body.insert("queryResults".into(), ctx.query_results(root)?);
    }
    if let Some(h) = header
        && h.as_object().is_some_and(|o| !o.is_empty())
    {
        top.insert("epcisHeader".into(), h);
    }
    top.insert("epcisBody".into(), Value::Object(body));
    top.insert("@context".into(), ctx.context());
    Ok(Value::Object(top))
}
