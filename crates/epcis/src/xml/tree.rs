//! A small namespace-resolved element tree built with quick-xml, with limits.

use super::XmlError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::rc::Rc;

/// The XML namespace of `xmlns:xsi`.
pub(super) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

#[derive(Debug, Clone, Default)]
pub(super) struct Element {
    /// Prefix as written (`None` for unprefixed names).
    pub prefix: Option<String>,
    pub local: String,
    /// Resolved namespace URI (`None` = no namespace), shared by all elements in it.
    pub ns: Option<Rc<str>>,
    /// Attributes other than namespace declarations: (prefix, local, namespace, value).
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    /// Concatenated character data directly inside this element.
    pub text: String,
}

#[derive(Debug, Clone)]
pub(super) struct Attr {
    pub prefix: Option<String>,
    pub local: String,
    pub ns: Option<Rc<str>>,
    pub value: String,
}

impl Element {
    /// The qualified name as written (`prefix:local` or `local`).
    pub fn qname(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }

    /// Unqualified attribute by local name.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// `xsi:nil="true"`.
    pub fn is_nil(&self) -> bool {
        self.attrs
            .iter()
            .any(|a| a.ns.as_deref() == Some(XSI) && a.local == "nil" && a.value.trim() == "true")
    }

    /// Trimmed text content.
    pub fn text(&self) -> &str {
        self.text.trim()
    }
}

/// Every namespace declaration seen in the document, in order: (prefix or "" for default, URI).
pub(super) type Declarations = Vec<(String, String)>;

pub(super) struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
}

struct Scope {
    /// (prefix, uri) declared on this element ("" = default namespace).
    decls: Vec<(String, Rc<str>)>,
}

fn lookup(scopes: &[Scope], prefix: &str) -> Option<Rc<str>> {
    for s in scopes.iter().rev() {
        if let Some((_, uri)) = s.decls.iter().rev().find(|(p, _)| p == prefix) {
            return if uri.is_empty() {
                None
            } else {
                Some(uri.clone())
            };
        }
    }
    match prefix {
        "xml" => Some("http://www.w3.org/XML/1998/namespace".into()),
        _ => None,
    }
}

fn split_qname(q: &str) -> (Option<&str>, &str) {
    match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    }
}

fn start_element(
    e: &BytesStart<'_>,
    scopes: &mut Vec<Scope>,
    all_decls: &mut Declarations,
) -> Result<Element, XmlError> {
    let name: String = e.name().as_ref().to_string();
    let mut decls = Vec::new();
    let mut raw_attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| XmlError::Syntax(format!("<{name}>: {err}")))?;
        let key: String = a.key.as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| XmlError::Syntax(format!("<{name}> {key}: {err}")))?
            .into_owned();
        if key == "xmlns" {
            decls.push((String::new(), value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            decls.push((p.to_string(), value));
        } else {
            raw_attrs.push((key, value));
        }
    }
    for (p, u) in &decls {
        if !all_decls.iter().any(|(q, v)| q == p && v == u) {
            all_decls.push((p.clone(), u.clone()));
        }
    }
    let decls: Vec<(String, Rc<str>)> = decls
        .into_iter()
        .map(|(p, u)| (p, Rc::<str>::from(u)))
        .collect();
    scopes.push(Scope { decls });
    let (prefix, local) = split_qname(&name);
    let ns = match prefix {
        Some(p) => Some(lookup(scopes, p).ok_or_else(|| XmlError::UnboundPrefix {
            prefix: p.to_string(),
            element: name.clone(),
        })?),
        None => lookup(scopes, ""),
    };
    let mut attrs = Vec::with_capacity(raw_attrs.len());
    for (key, value) in raw_attrs {
        let (p, l) = split_qname(&key);
        let ans = match p {
            Some(p) => Some(lookup(scopes, p).ok_or_else(|| XmlError::UnboundPrefix {
                prefix: p.to_string(),
                element: name.clone(),
            })?),
            None => None,
        };
        attrs.push(Attr {
            prefix: p.map(str::to_string),
            local: l.to_string(),
            ns: ans,
            value,
        });
    }
    Ok(Element {
        prefix: prefix.map(str::to_string),
        local: local.to_string(),
        ns,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Called for every element when it closes, with its open ancestors (root first) and the
/// namespace declarations seen so far. Returning `None` consumes the element (it is not attached
/// to its parent): this is how events are converted one by one while the document streams by,
/// so that the tree never holds more than one event.
pub(super) type Sink<'s> =
    dyn FnMut(&[Element], &Declarations, Element) -> Result<Option<Element>, XmlError> + 's;

/// Parses `xml` into its root element (minus what `sink` consumed) and the namespace
/// declarations it contains.
pub(super) fn parse(
    xml: &str,
    limits: &Limits,
    sink: &mut Sink<'_>,
) -> Result<(Element, Declarations), XmlError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut scopes: Vec<Scope> = Vec::new();
    let mut decls = Declarations::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| XmlError::Syntax(format!("at byte {}: {e}", reader.buffer_position())))?;
        match ev {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(XmlError::Syntax("content after the root element".into()));
            }
            Event::Start(e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooLarge {
                        what: "elements",
                        max: limits.max_elements,
                    });
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep {
                        max: limits.max_depth,
                    });
                }
                let el = start_element(&e, &mut scopes, &mut decls)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooLarge {
                        what: "elements",
                        max: limits.max_elements,
                    });
                }
                let el = start_element(&e, &mut scopes, &mut decls)?;
                scopes.pop();
                if let Some(el) = sink(&stack, &decls, el)? {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                }
            }
            Event::End(_) => {
                scopes.pop();
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError::Syntax("unbalanced end tag".into()))?;
                if let Some(el) = sink(&stack, &decls, el)? {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                } else if !t.xml10_content().trim().is_empty() {
                    return Err(XmlError::Syntax("text outside the root element".into()));
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml10_content();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlError::Syntax(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                    Err(e) => return Err(XmlError::Syntax(e.to_string())),
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax("unexpected end of document".into()));
    }
    let root = root.ok_or_else(|| XmlError::Syntax("no root element".into()))?;
    Ok((root, decls))
}
